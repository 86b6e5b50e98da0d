/**
 * Placeholders in the key and path patterns of non-table stores: `{id}` is the subject key and
 * `{<identity>}` one of `subject.identities` (e.g. `{email}`), filled from the request's snapshot.
 * Braces around anything that is not a plain name stay literal, so a Redis Cluster hash tag is
 * written `cart:{{id}}:*` (→ `cart:{42}:*`).
 */

/** A piece of a parsed template: text as written, or a placeholder to fill. */
export type TemplatePart = { text: string } | { placeholder: string };

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Splits a template into text and placeholders, in order. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push({ placeholder: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/** The placeholder names of a template, without duplicates. */
export function placeholdersOf(template: string): string[] {
  return [...new Set(parseTemplate(template).flatMap((p) => ("placeholder" in p ? [p.placeholder] : [])))];
}

/** Placeholder names a data map allows: `id` and every identity of `subject.identities`. */
export function allowedPlaceholders(identities: Readonly<Record<string, unknown>>): Set<string> {
  return new Set(["id", ...Object.keys(identities)]);
}

/** The first placeholder of `names` with no value in `identities` (e.g. a subject without an email), if any. */
export function missingPlaceholder(names: readonly string[], identities: Readonly<Record<string, string>>): string | undefined {
  return names.find((n) => identities[n] === undefined);
}
