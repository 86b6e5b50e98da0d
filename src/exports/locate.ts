import type { ClientBase } from "pg";
import { matchSql } from "../erasure/collect";
import type { StorePlan } from "../erasure/store-plan";
import { qualified, quoteIdent } from "../pg/ident";

/**
 * Where the subject's rows are, as SQL, without holding the rows.
 *
 * The erasure planner's collector (`erasure/collect`) keeps every row's ctid and link values in
 * memory, which is right for an erasure that locks and changes those rows, and wrong for an
 * export of a million-row table. This locator computes the same row sets by the same rules —
 * owned rows reach their dependents through incoming links, any row reaches what it references
 * through outgoing links, until nothing new turns up — but over the *distinct link values* each
 * rule needs (`SELECT DISTINCT`), so memory grows with distinct keys, not with rows. The result is
 * one WHERE clause per table that a cursor then streams.
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
}

/** One OR-ed term of a table's filter: rows whose `columns` hold a tuple of `source`. */
interface Term {
  columns: string[];
  source: TupleSet;
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
    if (!s) sets.set(key, (s = { key, mode, table, columns, tuples: new Map() }));
    return s;
  };
  // Terms of each table: owned rows reference owned rows (incoming links); any row of a table
  // another collected row references (outgoing links).
  const ownedTerms = new Map<string, Term[]>([...plan.tables.keys()].map((t) => [t, []]));
  const referencedTerms = new Map<string, Term[]>([...plan.tables.keys()].map((t) => [t, []]));
  for (const link of plan.links) {
    ownedTerms.get(link.from.table)!.push({ columns: link.from.columns, source: setOf("owned", link.to.table, link.to.columns) });
    referencedTerms.get(link.to.table)!.push({ columns: link.to.columns, source: setOf("all", link.from.table, link.from.columns) });
  }
  const termsOf = (table: string, mode: TupleSet["mode"]): Term[] =>
    mode === "owned" ? ownedTerms.get(table)! : [...ownedTerms.get(table)!, ...referencedTerms.get(table)!];
  const filterOf = (table: string, mode: TupleSet["mode"]): RowFilter | null => {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (table === plan.subjectTable) {
      const type = plan.tables.get(table)!.info.columns.get(seed.column)?.sqlType ?? "text";
      params.push(seed.value);
      parts.push(`${quoteIdent(seed.column)} = $1::text::${type}`);
    }
    for (const term of termsOf(table, mode)) {
      if (term.source.tuples.size === 0) continue;
      const m = matchSql(plan, table, term.columns, [...term.source.tuples.values()], params.length + 1);
      parts.push(m.sql);
      params.push(...m.params);
    }
    return parts.length === 0 ? null : { where: parts.map((p) => `(${p})`).join(" OR "), params };
  };

  let dirty = [...sets.values()];
  for (let round = 0; dirty.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new Error("locating the subject's rows did not converge");
    signal?.throwIfAborted();
    const grown = new Set<string>();
    for (const set of dirty) {
      const filter = filterOf(set.table, set.mode);
      if (!filter) continue;
      const cols = set.columns.map((c) => `${quoteIdent(c)}::text`).join(", ");
      const notNull = set.columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(" AND ");
      const res = await db.query<string[]>({
        text: `SELECT DISTINCT ${cols} FROM ${qualified(plan.schemaName, set.table)} WHERE (${filter.where}) AND ${notNull}`,
        values: filter.params,
        rowMode: "array",
      });
      const before = set.tuples.size;
      for (const row of res.rows) set.tuples.set(JSON.stringify(row), row);
      if (set.tuples.size > before) grown.add(set.key);
    }
    dirty = [...sets.values()].filter((s) => termsOf(s.table, s.mode).some((t) => grown.has(t.source.key)));
  }
  return new Map([...plan.tables.keys()].map((t) => [t, filterOf(t, "all")]));
}
