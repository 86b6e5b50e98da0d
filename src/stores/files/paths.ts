import { sep } from "node:path";
import { missingPlaceholder, parseTemplate, placeholdersOf } from "../placeholders";

/**
 * Path patterns of a files store, matched on path segments relative to the store's root:
 * `*` and `?` within one segment (dot files included), `**` (a whole segment) any depth.
 * Placeholders are filled with literal values; a value never acts as a glob or a separator.
 */

/** One segment of a filled pattern. */
export type PathSegment =
  | { kind: "literal"; name: string }
  | { kind: "glob"; re: RegExp }
  /** `**`: zero or more whole segments. */
  | { kind: "globstar" };

/** A pattern filled for one subject, ready to match relative paths. */
export interface CompiledPath {
  segments: PathSegment[];
  /** How many leading segments are literal directories: the walk starts below them. */
  prefix: number;
}

/**
 * Why a pattern could reach outside the root, or null: it is absolute, has a `..` segment, a
 * backslash or a NUL.
 */
export function unsafePattern(template: string): string | null {
  if (template.startsWith("/") || /^[A-Za-z]:/.test(template)) return "it is absolute; patterns are relative to the root";
  if (template.includes("\\")) return "it contains a backslash";
  if (template.includes("\0")) return "it contains a NUL character";
  if (template.split("/").includes("..")) return 'it has a ".." segment';
  return null;
}

/**
 * Why a pattern could match other subjects' files though it has a placeholder, or null: a glob
 * right next to a placeholder (`avatars/{id}*` matches `420.png` for subject 42).
 */
export function globNextToPlaceholder(template: string): string | null {
  for (const segment of template.split("/")) {
    const parts = parseTemplate(segment);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (!("placeholder" in part)) continue;
      const before = parts[i - 1];
      const after = parts[i + 1];
      if (before && "text" in before && /[*?]$/.test(before.text)) {
        return `a glob right before {${part.placeholder}} also matches other subjects whose value ends with this one's; put a separator between them`;
      }
      if (after && "text" in after && /^[*?]/.test(after.text)) {
        return `a glob right after {${part.placeholder}} also matches other subjects whose value starts with this one's; put a separator between them`;
      }
    }
  }
  return null;
}

/** True when an identity value cannot be put into a path: empty, `.`, or containing `/`, `\`, `..` or NUL. */
export function isUnsafeIdentity(value: string): boolean {
  return value === "" || value === "." || value.includes("/") || value.includes("\\") || value.includes("..") || value.includes("\0");
}

/** True when `path` is `root` itself or below it (both absolute and normalized). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

const escapeRegExp = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/**
 * Fills a pattern with the subject's identities; null when a placeholder has no value (the
 * pattern is skipped). The caller has refused unsafe patterns and identity values already.
 */
export function compilePath(template: string, identities: Readonly<Record<string, string>>): CompiledPath | null {
  if (missingPlaceholder(placeholdersOf(template), identities) !== undefined) return null;
  const segments = template
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .map((raw): PathSegment => {
      if (raw === "**") return { kind: "globstar" };
      const parts = parseTemplate(raw);
      const isGlob = parts.some((p) => "text" in p && /[*?]/.test(p.text));
      if (!isGlob) return { kind: "literal", name: parts.map((p) => ("text" in p ? p.text : identities[p.placeholder]!)).join("") };
      const source = parts
        .map((p) =>
          "text" in p ? p.text.replace(/./gsu, (c) => (c === "*" ? "[^/]*" : c === "?" ? "[^/]" : escapeRegExp(c))) : escapeRegExp(identities[p.placeholder]!),
        )
        .join("");
      return { kind: "glob", re: new RegExp(`^${source}$`, "u") };
    });
  let prefix = 0;
  while (prefix < segments.length - 1 && segments[prefix]!.kind === "literal") prefix++;
  return { segments, prefix };
}

function segmentMatches(seg: PathSegment, name: string): boolean {
  return seg.kind === "literal" ? seg.name === name : seg.kind === "glob" ? seg.re.test(name) : true;
}

/** True when the relative path `names` matches the whole pattern. */
export function matchesPath(p: CompiledPath, names: readonly string[]): boolean {
  const go = (i: number, j: number): boolean => {
    const seg = p.segments[i];
    if (!seg) return j === names.length;
    if (seg.kind === "globstar") {
      for (let k = j; k <= names.length; k++) if (go(i + 1, k)) return true;
      return false;
    }
    return j < names.length && segmentMatches(seg, names[j]!) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

/** True when something below the directory `names` could match: the walk descends into it. */
export function mayContainMatches(p: CompiledPath, names: readonly string[]): boolean {
  const go = (i: number, j: number): boolean => {
    const seg = p.segments[i];
    if (j === names.length) return seg !== undefined;
    if (!seg) return false;
    if (seg.kind === "globstar") return go(i + 1, j) || go(i, j + 1);
    return segmentMatches(seg, names[j]!) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

/**
 * The pattern's segment at `depth` when no `**` comes at or before it: an entry at that depth
 * (its relative path `depth + 1` names long) can match, or lead to a match, only when its name
 * matches this segment. Undefined after a `**` or past the pattern's end.
 */
export function fixedSegmentAt(p: CompiledPath, depth: number): Exclude<PathSegment, { kind: "globstar" }> | undefined {
  for (let i = 0; i <= depth && i < p.segments.length; i++) if (p.segments[i]!.kind === "globstar") return undefined;
  const seg = p.segments[depth];
  return seg && seg.kind !== "globstar" ? seg : undefined;
}
