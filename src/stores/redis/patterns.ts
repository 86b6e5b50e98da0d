import { missingPlaceholder, parseTemplate, placeholdersOf, type TemplatePart } from "../placeholders";

/**
 * Redis key patterns of the data map, filled for one subject. Identity values are escaped for
 * Redis glob syntax, so a value such as `a*` matches the key `a*` only and cannot widen a pattern.
 */

const GLOB_CHARS = new Set(["*", "?", "["]);

/** True when `text` has an unescaped glob character (`*`, `?`, `[`). */
export function hasGlob(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") i++;
    else if (GLOB_CHARS.has(c)) return true;
  }
  return false;
}

/** Escapes a literal for a SCAN MATCH pattern: `*`, `?`, `[`, `]` and `\` get a backslash. */
export function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, "\\$&");
}

/** Removes glob escapes: `\*` → `*`, `\\` → `\`. */
export function unescapeGlob(text: string): string {
  return text.replace(/\\(.)/gs, "$1");
}

/** A template filled for one subject. */
export type ResolvedPattern =
  /** A placeholder has no value in the snapshot (e.g. no email): nothing to do, reported with 0. */
  | { kind: "skip"; missing: string }
  /** No glob: the one key, UNLINKed or HDELed directly. */
  | { kind: "exact"; key: string }
  /** A glob left after filling: the SCAN MATCH pattern. */
  | { kind: "match"; match: string };

const isText = (p: TemplatePart): p is { text: string } => "text" in p;

/**
 * Fills a key template with the subject's identities. A placeholder whose value is missing or
 * empty skips the pattern; an empty value would otherwise name someone else's key.
 */
export function resolvePattern(template: string, identities: Readonly<Record<string, string>>): ResolvedPattern {
  const parts = parseTemplate(template);
  const names = placeholdersOf(template);
  const nonEmpty = Object.fromEntries(Object.entries(identities).filter(([, v]) => v !== ""));
  const missing = missingPlaceholder(names, nonEmpty);
  if (missing !== undefined) return { kind: "skip", missing };
  const value = (p: { placeholder: string }) => nonEmpty[p.placeholder]!;
  if (parts.some((p) => isText(p) && hasGlob(p.text))) {
    return { kind: "match", match: parts.map((p) => (isText(p) ? p.text : escapeGlob(value(p)))).join("") };
  }
  return { kind: "exact", key: parts.map((p) => (isText(p) ? unescapeGlob(p.text) : value(p))).join("") };
}

/**
 * Why a key pattern could match other subjects' keys though it has a placeholder, or null: it
 * starts with a glob (`*:{id}` scans every key), or a glob touches a placeholder (`cart:{id}*`
 * matches `cart:42` for subject 4).
 */
export function broadness(template: string): string | null {
  const parts = parseTemplate(template);
  const first = parts[0];
  if (first && isText(first) && GLOB_CHARS.has(first.text[0]!)) return "it starts with a glob, so it scans and matches every key";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (isText(part)) continue;
    const before = parts[i - 1];
    const after = parts[i + 1];
    if (before && isText(before) && endsWithGlob(before.text))
      return `a glob right before {${part.placeholder}} also matches other subjects whose value ends with this one's; put a separator between them`;
    if (after && isText(after) && GLOB_CHARS.has(after.text[0]!))
      return `a glob right after {${part.placeholder}} also matches other subjects whose value starts with this one's; put a separator between them`;
  }
  return null;
}

function endsWithGlob(text: string): boolean {
  const last = text[text.length - 1];
  if (last !== "*" && last !== "?" && last !== "]") return false;
  // An escaped character (`\*`) is literal: count the backslashes before it.
  let slashes = 0;
  for (let i = text.length - 2; i >= 0 && text[i] === "\\"; i--) slashes++;
  return slashes % 2 === 0 && (last !== "]" || hasGlob(text));
}
