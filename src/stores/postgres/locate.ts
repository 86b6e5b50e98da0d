import type { ClientBase } from "pg";
import { matchSql } from "./collect";
import type { StorePlan } from "./store-plan";
import { qualified, quoteIdent } from "./ident";
import { matchedColumnSql, matchedValueSql } from "./identity-sql";
import type { MatchRule } from "../../subject/identity-match";

/**
 * Where the subject's rows are, as SQL, without holding the rows.
 *
 * The erasure planner's collector (`stores/postgres/collect`) keeps every row's ctid and link values in
 * memory, which is right for an erasure that locks and changes those rows, and wrong for an
 * export of a million-row table. This locator computes the same row sets by the same rules —
 * owned rows reach their dependents through incoming links, any row reaches what it references
 * through outgoing links, until nothing new turns up — but over the *distinct link values* each
 * rule needs (`SELECT DISTINCT`, or an index probe per value), so memory grows with distinct keys,
 * not with rows. The result is one WHERE clause per table that COPY then streams. Known limit: a
 * table whose own key other tables link to (a million events, each with children) still yields a
 * million distinct keys, held as text and passed back as one array parameter.
 */

/** Rows of one table: `WHERE <where>` with `params` ($1…). */
export interface RowFilter {
  where: string;
  params: unknown[];
}

/** How a subject is found: the subject table's `column = value`. */
export interface LocateSeed {
  column: string;
  value: string;
}

/** Distinct non-null values of `columns` over the owned (or all) rows of `table`. */
interface TupleSet {
  key: string;
  mode: "owned" | "all";
  table: string;
  columns: string[];
  tuples: Map<string, string[]>;
  /** Bumped whenever `tuples` grows. */
  version: number;
  /** Versions of the sets this one was last computed from; null before its first computation. */
  computedFrom: Map<string, number> | null;
}

/** One OR-ed term of a table's filter: rows whose `columns` hold a tuple of `source`. */
interface Term {
  columns: string[];
  source: TupleSet;
  /** The link's match rule (`normalized`: `lower(btrim(…))` on both sides). */
  match: MatchRule;
}

/** Upper bound of fixpoint rounds; each round must grow a set, so this is never reached by a sane schema. */
const MAX_ROUNDS = 10_000;

/**
 * Computes, in the caller's transaction (use REPEATABLE READ so later cursors see the same
 * snapshot), the filter of every planned table: null when the subject has no rows there.
 */
export async function locateSubjectRows(db: ClientBase, plan: StorePlan, seed: LocateSeed, signal?: AbortSignal): Promise<Map<string, RowFilter | null>> {
  const sets = new Map<string, TupleSet>();
  const setOf = (mode: TupleSet["mode"], table: string, columns: string[]): TupleSet => {
    const key = `${mode}|${table}|${columns.join(",")}`;
    let s = sets.get(key);
    if (!s) sets.set(key, (s = { key, mode, table, columns, tuples: new Map(), version: 0, computedFrom: null }));
    return s;
  };
  // Terms of each table: owned rows reference owned rows (incoming links); any row of a table
  // another collected row references (outgoing links).
  const ownedTerms = new Map<string, Term[]>([...plan.tables.keys()].map((t) => [t, []]));
  const referencedTerms = new Map<string, Term[]>([...plan.tables.keys()].map((t) => [t, []]));
  for (const link of plan.links) {
    ownedTerms.get(link.from.table)!.push({ columns: link.from.columns, source: setOf("owned", link.to.table, link.to.columns), match: link.match });
    referencedTerms.get(link.to.table)!.push({ columns: link.to.columns, source: setOf("all", link.from.table, link.from.columns), match: link.match });
  }
  const termsOf = (table: string, mode: TupleSet["mode"]): Term[] =>
    mode === "owned" ? ownedTerms.get(table)! : [...ownedTerms.get(table)!, ...referencedTerms.get(table)!];
  const typeOf = (table: string, column: string): string => plan.tables.get(table)!.info.columns.get(column)?.sqlType ?? "text";
  const select = async (sql: string, params: unknown[]): Promise<string[][]> =>
    (await db.query<string[]>({ text: sql, values: params, rowMode: "array" })).rows;
  /** Distinct values of the set's columns over the rows `where` selects. */
  const distinct = (set: TupleSet, where: string, params: unknown[]): Promise<string[][]> => {
    const cols = set.columns.map((c) => `${quoteIdent(c)}::text`).join(", ");
    const notNull = set.columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" AND ");
    return select(`SELECT DISTINCT ${cols} FROM ${qualified(plan.schemaName, set.table)} WHERE (${where}) AND ${notNull}`, params);
  };
  /**
   * A term over the set's own columns contributes the source tuples that occur in the table: one
   * index probe per tuple (LIMIT 1) instead of reading every matching row — a million events of
   * one customer add one customer id, found by one probe.
   */
  const probe = (set: TupleSet, source: TupleSet, rule: MatchRule): Promise<string[][]> => {
    const tuples = [...source.tuples.values()];
    const names = set.columns.map((_, i) => `v${i}`);
    const match = set.columns
      .map((c, i) => `${matchedColumnSql(`t.${quoteIdent(c)}`, rule)} = ${matchedValueSql(`u.v${i}`, rule, typeOf(set.table, c))}`)
      .join(" AND ");
    return select(
      `SELECT DISTINCT ${set.columns.map((c) => `x.${quoteIdent(c)}::text`).join(", ")}
         FROM unnest(${set.columns.map((_, i) => `$${i + 1}::text[]`).join(", ")}) AS u(${names.join(", ")})
         CROSS JOIN LATERAL (SELECT ${set.columns.map((c) => `t.${quoteIdent(c)}`).join(", ")} FROM ${qualified(plan.schemaName, set.table)} AS t WHERE ${match} LIMIT 1) AS x`,
      set.columns.map((_, i) => tuples.map((t) => t[i])),
    );
  };
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((c, i) => c === b[i]);
  const compute = async (set: TupleSet): Promise<string[][]> => {
    const found: string[][] = [];
    if (set.table === plan.subjectTable) {
      found.push(...(await distinct(set, `${quoteIdent(seed.column)} = $1::text::${typeOf(set.table, seed.column)}`, [seed.value])));
    }
    for (const term of termsOf(set.table, set.mode)) {
      if (term.source.tuples.size === 0) continue;
      if (same(term.columns, set.columns)) {
        found.push(...(await probe(set, term.source, term.match)));
        continue;
      }
      const m = matchSql(plan, set.table, term.columns, [...term.source.tuples.values()], 1, term.match);
      found.push(...(await distinct(set, m.sql, m.params)));
    }
    return found;
  };

  // A set is recomputed only when a set it reads from has grown since it was last computed (a
  // big table is scanned once, not once per round). Sets only grow, so this ends.
  const isStale = (set: TupleSet): boolean =>
    set.computedFrom === null || termsOf(set.table, set.mode).some((t) => set.computedFrom!.get(t.source.key) !== t.source.version);
  for (let round = 0; ; round++) {
    const stale = [...sets.values()].filter(isStale);
    if (stale.length === 0) break;
    if (round >= MAX_ROUNDS) throw new Error("locating the subject's rows did not converge");
    signal?.throwIfAborted();
    for (const set of stale) {
      if (!isStale(set)) continue;
      set.computedFrom = new Map(termsOf(set.table, set.mode).map((t) => [t.source.key, t.source.version]));
      const before = set.tuples.size;
      for (const row of await compute(set)) set.tuples.set(JSON.stringify(row), row);
      if (set.tuples.size > before) set.version++;
    }
  }
  return exportFilters(db, plan, { ownedOf: (t) => whereOf(t, "owned"), referencedOf: (t) => whereOf(t, "referenced"), allOf: (t) => whereOf(t, "all") });

  /** The SQL of `table`'s rows of one kind (owned: the seed and incoming links; referenced: outgoing links only), values appended to `params`. */
  function whereOf(table: string, kind: "owned" | "referenced" | "all"): WhereBuilder {
    const terms = kind === "owned" ? ownedTerms.get(table)! : kind === "referenced" ? referencedTerms.get(table)! : termsOf(table, "all");
    return (params) => {
      const parts: string[] = [];
      if (kind !== "referenced" && table === plan.subjectTable) {
        const type = plan.tables.get(table)!.info.columns.get(seed.column)?.sqlType ?? "text";
        params.push(seed.value);
        parts.push(`${quoteIdent(seed.column)} = $${params.length}::text::${type}`);
      }
      for (const term of terms) {
        if (term.source.tuples.size === 0) continue;
        const m = matchSql(plan, table, term.columns, [...term.source.tuples.values()], params.length + 1, term.match);
        parts.push(m.sql);
        params.push(...m.params);
      }
      return parts.length === 0 ? null : parts.map((p) => `(${p})`).join(" OR ");
    };
  }
}

/** Writes a WHERE condition over one table's unqualified columns, appending its values to `params` (`$n` numbered by position). */
type WhereBuilder = (params: unknown[]) => string | null;

/**
 * The filters an export uses (issue 9, item 6: an export holds the subject's data only): a
 * table's owned rows (the subject row and its dependents), plus the rows the subject only
 * references (an address) while nobody else references them — the erasure's shared-row rule
 * (`decide`), for every table whatever its action. A referenced row that any row outside the
 * subject's rows points at (through any foreign key or `via` of the schema, from any table, also
 * `others` and unmapped ones) is someone else's too, and left out: an employee's or a shop's
 * address, a household's shared address. As in `decide`, tables are settled in change order
 * (dependents first), and "the subject's rows" of a referencing table are its export rows when
 * it was settled already, else all its located rows. The shared keys are found by one indexed
 * query per inbound link (like `decide`), so each filter stays flat: `owned OR (referenced AND
 * NOT <shared keys>)`.
 */
async function exportFilters(
  db: ClientBase,
  plan: StorePlan,
  where: { ownedOf: (t: string) => WhereBuilder; referencedOf: (t: string) => WhereBuilder; allOf: (t: string) => WhereBuilder },
): Promise<Map<string, RowFilter | null>> {
  const settled = new Map<string, WhereBuilder>();
  const distinct = async (table: string, columns: string[], sql: string, params: unknown[]): Promise<string[][]> => {
    const cols = columns.map((c) => `${quoteIdent(c)}::text`).join(", ");
    const notNull = columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" AND ");
    const text = `SELECT DISTINCT ${cols} FROM ${qualified(plan.schemaName, table)} WHERE (${sql}) AND ${notNull}`;
    return (await db.query<string[]>({ text, values: params, rowMode: "array" })).rows;
  };
  for (const table of plan.order) {
    const ownedOf = where.ownedOf(table);
    const referencedOf = where.referencedOf(table);
    const probe: unknown[] = [];
    if (referencedOf(probe) === null) {
      settled.set(table, ownedOf);
      continue;
    }
    // The rows the subject only references: referenced, not owned.
    const params: unknown[] = [];
    const ref = referencedOf(params)!;
    const own = ownedOf(params);
    const candidatesSql = own === null ? ref : `(${ref}) AND NOT coalesce((${own}), false)`;
    const shared: Array<{ columns: string[]; tuples: string[][]; match: MatchRule }> = [];
    for (const link of plan.inbound.get(table) ?? []) {
      const candidates = await distinct(table, link.to.columns, candidatesSql, params);
      if (candidates.length === 0) continue;
      // Rows of the referencing table that point at a candidate and are not the subject's.
      const m = matchSql(plan, link.from.table, link.from.columns, candidates, 1, link.match);
      const userParams: unknown[] = [...m.params];
      const mine = plan.tables.has(link.from.table) ? (settled.get(link.from.table) ?? where.allOf(link.from.table))(userParams) : null;
      const users = await distinct(link.from.table, link.from.columns, mine === null ? m.sql : `${m.sql} AND NOT coalesce((${mine}), false)`, userParams);
      if (users.length > 0) shared.push({ columns: link.to.columns, tuples: users, match: link.match });
    }
    settled.set(table, (p) => {
      const o = ownedOf(p);
      const r = referencedOf(p)!;
      const notShared = shared.map((x) => {
        const m = matchSql(plan, table, x.columns, x.tuples, p.length + 1, x.match);
        p.push(...m.params);
        return `NOT coalesce((${m.sql}), false)`;
      });
      const theirs = notShared.length === 0 ? `(${r})` : `((${r}) AND ${notShared.join(" AND ")})`;
      return o === null ? theirs : `(${o}) OR ${theirs}`;
    });
  }
  return new Map(
    [...plan.tables.keys()].map((table) => {
      const params: unknown[] = [];
      const sql = settled.get(table)!(params);
      return [table, sql === null ? null : { where: sql, params }];
    }),
  );
}
