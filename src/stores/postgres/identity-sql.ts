import type { MatchRule } from "../../subject/identity-match";
import { quoteIdent } from "./ident";

/**
 * The SQL side of `subject/identity-match`: how a column is compared with identity values inside
 * Postgres. `normalized` is `lower(btrim(col))` — exactly that expression, so an expression index
 * `CREATE INDEX … ON t (lower(btrim(email)))` serves the lookup; without one the comparison is
 * still correct (a scan). `exact` compares the column as it is, cast to its own type so its
 * plain index applies. Used by resolve, `via` links, holds, replay, exports, retention.
 */

/** The compared form of a column (`ref` is already-quoted SQL, e.g. `t."email"`), by rule. */
export function matchedColumnSql(ref: string, match: MatchRule): string {
  return match === "normalized" ? `lower(btrim(${ref}::text))` : ref;
}

/** The compared form of a text value expression (`$1`, `v`), by rule, cast to `sqlType` for `exact`. */
export function matchedValueSql(value: string, match: MatchRule, sqlType = "text"): string {
  return match === "normalized" ? `lower(btrim(${value}::text))` : `${value}::text::${sqlType}`;
}

/**
 * `<column> = <one value>`: `param` is a placeholder (`$1`) bound to the value as text; `sqlType`
 * the column's type (`format_type`), for the exact comparison.
 */
export function identityEqualsSql(column: string, param: string, match: MatchRule, sqlType = "text", alias?: string): string {
  const ref = alias ? `${alias}.${quoteIdent(column)}` : quoteIdent(column);
  return `${matchedColumnSql(ref, match)} = ${matchedValueSql(param, match, sqlType)}`;
}

/**
 * `<column> = ANY(<values>)`: `param` is a placeholder bound to a `text[]`. For `normalized` the
 * values are normalised inside Postgres too (one array, evaluated once), so both sides go through
 * the same function.
 */
export function identityInSql(column: string, param: string, match: MatchRule, sqlType = "text", alias?: string): string {
  const ref = alias ? `${alias}.${quoteIdent(column)}` : quoteIdent(column);
  if (match === "normalized") return `${matchedColumnSql(ref, match)} = ANY(ARRAY(SELECT lower(btrim(v)) FROM unnest(${param}::text[]) AS v))`;
  return `${ref} = ANY(${param}::text[]::${sqlType}[])`;
}
