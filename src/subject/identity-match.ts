/**
 * How a subject's identity values are compared: the one place that says what "the same email"
 * means. `exact` compares values as they are; `normalized` compares `lower(btrim(x))` on both
 * sides (emails: case-insensitive, surrounding spaces ignored). Every consumer — resolving a
 * request, `via` links, legal holds, the erasure ledger and replay, exports, retention, the
 * leftover audit — uses {@link normalizeIdentity} (in Node) or the SQL builder of
 * `stores/postgres/identity-sql` (inside Postgres), never its own idea of it.
 */

/** The match rules an identity (or a `via` link) may declare. */
export const MATCH_RULES = ["exact", "normalized"] as const;
/** One of {@link MATCH_RULES}. */
export type MatchRule = (typeof MATCH_RULES)[number];

/** An identity as the data map may write it: a column name, or `{ column, match }`. */
export type IdentityDeclaration = string | { column: string; match?: MatchRule | undefined };

/** One identity of the subject, with its rule resolved. */
export interface IdentitySpec {
  /** The identity's name in requests (`email`), or `id` for the subject key. */
  name: string;
  /** Column of the subject table. */
  column: string;
  match: MatchRule;
}

/** The parts of `subject` this module reads. */
export interface SubjectIdentities {
  key: string;
  identities: Readonly<Record<string, IdentityDeclaration>>;
}

/**
 * The default rule of an identity: `normalized` for an identity named `email` or whose column
 * name contains "email", `exact` otherwise (keys, usernames, phone numbers as stored).
 */
export function defaultMatch(name: string, column: string): MatchRule {
  return name.toLowerCase() === "email" || /e_?mail/i.test(column) ? "normalized" : "exact";
}

/** Resolves one identity declaration (defaults applied). */
export function identitySpecOf(name: string, declared: IdentityDeclaration): IdentitySpec {
  if (typeof declared === "string") return { name, column: declared, match: defaultMatch(name, declared) };
  return { name, column: declared.column, match: declared.match ?? defaultMatch(name, declared.column) };
}

/** Every identity of the subject (not the key), in data-map order. */
export function identitySpecs(subject: SubjectIdentities): IdentitySpec[] {
  return Object.entries(subject.identities).map(([name, declared]) => identitySpecOf(name, declared));
}

/** The identity `name` (`id`: the key, matched exactly), or undefined when the map has none by that name. */
export function identityByName(subject: SubjectIdentities, name: string): IdentitySpec | undefined {
  if (name === "id") return { name: "id", column: subject.key, match: "exact" };
  const declared = Object.hasOwn(subject.identities, name) ? subject.identities[name] : undefined;
  return declared === undefined ? undefined : identitySpecOf(name, declared);
}

/** The rule an identity's values are compared by; names the map does not know use the default for the name. */
export function matchOfIdentity(subject: SubjectIdentities | undefined, name: string): MatchRule {
  const spec = subject ? identityByName(subject, name) : undefined;
  return spec?.match ?? defaultMatch(name, name);
}

/** The rule of the identity held in `column` of the subject table, or null when no identity uses it. */
export function matchOfColumn(subject: SubjectIdentities, column: string): MatchRule | null {
  if (column === subject.key) return "exact";
  return identitySpecs(subject).find((s) => s.column === column)?.match ?? null;
}

/**
 * A value as its rule compares it. `normalized` is what Postgres' `lower(btrim(x))` does to an
 * ASCII value: spaces (only U+0020, like `btrim`) removed at both ends, then lower-cased.
 * Non-ASCII letters are lower-cased here by Unicode rules and in Postgres by the database's
 * collation, which may differ for a `C` collation; hashes are always computed here, so holds, the
 * ledger and the leftover audit agree with each other.
 */
export function normalizeIdentity(value: string, match: MatchRule): string {
  if (match === "exact") return value;
  return value.replace(/^ +| +$/g, "").toLowerCase();
}
