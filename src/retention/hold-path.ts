import type { DataMap } from "../datamap/schema";
import { postgresStoreOf } from "../stores/postgres/schema";
import { linksOf } from "../stores/postgres/graph";
import type { SchemaInfo } from "../stores/postgres/introspect";
import { qualified, quoteIdent } from "../stores/postgres/ident";
import { matchedColumnSql } from "../stores/postgres/identity-sql";
import type { MatchRule } from "../subject/identity-match";

/**
 * How a swept row is tied to its subject, so rows of subjects under legal hold are skipped.
 * Holds name a subject by `HMAC(key, "id:" + subject key)`; the sweep computes that HMAC in SQL
 * (two SHA-256 over the padded key blocks, as masking does) along the shortest chain of links
 * (foreign keys or `via`, either direction) from the policy's table to the subject table.
 */

/** One step of the chain: columns of `from` (nearer the swept table) equal columns of `to`. */
export interface HoldHop {
  from: { table: string; columns: string[] };
  to: { table: string; columns: string[] };
  /** The link's match rule: a `via` to an email compares `lower(btrim(…))` on both sides (`identity-sql`). */
  match?: MatchRule;
}

/**
 * The shortest chain from `table` to the subject table over the store's declared tables, or
 * null when there is none (another store, or no link). An empty chain: `table` is the subject table.
 */
export function holdPath(map: DataMap, storeName: string, schema: SchemaInfo, table: string): HoldHop[] | null {
  const store = postgresStoreOf(map, storeName);
  if (!store || map.subject.store !== storeName) return null;
  const goal = map.subject.table;
  if (table === goal) return [];
  const hops: HoldHop[] = [];
  for (const l of linksOf(schema, store, map.subject)) {
    if (l.from.table === l.to.table) continue;
    hops.push({ from: l.from, to: l.to, match: l.match }, { from: l.to, to: l.from, match: l.match });
  }
  const usable = (t: string) => store.tables[t] !== undefined && schema.tables.has(t);
  const came = new Map<string, HoldHop | null>([[table, null]]);
  const queue = [table];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === goal) break;
    for (const hop of hops) {
      if (hop.from.table !== current || came.has(hop.to.table) || !usable(hop.to.table)) continue;
      came.set(hop.to.table, hop);
      queue.push(hop.to.table);
    }
  }
  if (!came.has(goal)) return null;
  const path: HoldHop[] = [];
  for (let at = goal; at !== table;) {
    const hop = came.get(at)!;
    path.unshift(hop);
    at = hop.from.table;
  }
  return path;
}

/**
 * SQL that is true when the row of alias `alias` belongs to a held subject. `hashed(expr)` turns
 * a subject-key expression into the "is held" test. A last hop onto the subject key itself
 * needs no join with the subject table.
 */
export function heldSql(path: readonly HoldHop[], subjectKey: string, schemaName: string, alias: string, hashed: (keyExpr: string) => string): string {
  if (path.length === 0) return hashed(`${alias}.${quoteIdent(subjectKey)}`);
  const hops = [...path];
  const last = hops[hops.length - 1]!;
  const shortcut = last.to.columns.length === 1 && last.to.columns[0] === subjectKey;
  if (shortcut) hops.pop();
  const keyOf = (a: string) => `${a}.${quoteIdent(shortcut ? last.from.columns[0]! : subjectKey)}`;
  if (hops.length === 0) return hashed(keyOf(alias));
  const eq = (l: string, lc: string[], r: string, rc: string[], match: MatchRule = "exact") =>
    lc.map((c, i) => `${matchedColumnSql(`${l}.${quoteIdent(c)}`, match)} = ${matchedColumnSql(`${r}.${quoteIdent(rc[i]!)}`, match)}`).join(" AND ");
  const joins: string[] = [];
  const where: string[] = [];
  hops.forEach((hop, i) => {
    const a = `h${i + 1}`;
    const prev = i === 0 ? alias : `h${i}`;
    const on = eq(a, hop.to.columns, prev, hop.from.columns, hop.match);
    if (i === 0) {
      joins.push(`${qualified(schemaName, hop.to.table)} ${a}`);
      where.push(on);
    } else {
      joins.push(`JOIN ${qualified(schemaName, hop.to.table)} ${a} ON ${on}`);
    }
  });
  return `EXISTS (SELECT 1 FROM ${joins.join(" ")} WHERE ${where.join(" AND ")} AND ${hashed(keyOf(`h${hops.length}`))})`;
}
