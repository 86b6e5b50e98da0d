import type { ClientBase } from "pg";
import type { Link } from "./graph";
import { qualified, quoteIdent } from "./ident";
import { ROW_ID_SQL } from "./row-id";
import { identityInSql } from "./identity-sql";
import type { MatchRule } from "../../subject/identity-match";
import type { StorePlan } from "./store-plan";

/** One row of the subject's: its row id (`<tableoid>:<ctid>`, stable while locked), its link-column values as text. */
export interface SubjectRow {
  /** `(page,item)`; null for a virtual row made from a snapshot (verification). */
  ctid: string | null;
  values: Record<string, string | null>;
  /** Reached from the subject row through incoming links (belongs to the subject). */
  owned: boolean;
}

/** Rows of the subject per table. */
export type RowSets = Map<string, Map<string, SubjectRow>>;

/** The columns of `table` that any link of the plan reads. */
export function linkColumns(plan: StorePlan, table: string): string[] {
  const cols = new Set<string>();
  for (const l of plan.links) {
    if (l.from.table === table) l.from.columns.forEach((c) => cols.add(c));
    if (l.to.table === table) l.to.columns.forEach((c) => cols.add(c));
  }
  for (const l of plan.inbound.get(table) ?? []) l.to.columns.forEach((c) => cols.add(c));
  return [...cols];
}

/**
 * `(c1, c2) IN (unnest(...))` over text arrays cast to the columns' types, so indexes apply.
 * Returns the SQL and its parameters, numbered from `first`. A single-column link with match rule
 * `normalized` compares `lower(btrim(…))` on both sides (`identity-sql`).
 */
export function matchSql(
  plan: StorePlan,
  table: string,
  columns: string[],
  tuples: string[][],
  first = 1,
  match: MatchRule = "exact",
): { sql: string; params: string[][] } {
  const info = plan.schema.tables.get(table);
  const typeOf = (c: string) => info?.columns.get(c)?.sqlType ?? "text";
  if (columns.length === 1) {
    const c = columns[0]!;
    return { sql: identityInSql(c, `$${first}`, match, typeOf(c)), params: [tuples.map((t) => t[0]!)] };
  }
  const lhs = columns.map(quoteIdent).join(", ");
  const arrays = columns.map((c, i) => `$${first + i}::text[]::${typeOf(c)}[]`).join(", ");
  return { sql: `(${lhs}) IN (SELECT * FROM unnest(${arrays}))`, params: columns.map((_, i) => tuples.map((t) => t[i]!)) };
}

/** Distinct non-null tuples of `columns` over `rows`. */
export function tuplesOf(rows: Iterable<SubjectRow>, columns: string[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const r of rows) {
    const t = columns.map((c) => r.values[c]);
    if (t.some((v) => v === null || v === undefined)) continue;
    seen.set(JSON.stringify(t), t as string[]);
  }
  return [...seen.values()];
}

/** What to start a collection from. */
export interface Seed {
  /** Real subject rows, found by `column = value`. */
  column: string;
  value: string;
  /** Virtual subject rows from a snapshot: link values of rows that may be gone (verification). */
  virtual?: Array<Record<string, string | null>>;
}

/**
 * Collects the subject's rows in every planned table, following incoming links from owned rows
 * and outgoing links from any row, until nothing new turns up. `lock` takes `FOR UPDATE` row
 * locks, which keeps ctids stable until this transaction changes the rows itself.
 */
export async function collectRows(db: ClientBase, plan: StorePlan, seed: Seed, lock: boolean): Promise<RowSets> {
  const sets: RowSets = new Map([...plan.tables.keys()].map((t) => [t, new Map<string, SubjectRow>()]));
  // `cameBy`: the link whose incoming side found these rows. Following that same link back out of
  // them can only reach the parent rows they were found from (the referenced side is unique), so
  // that query is skipped.
  const pending: Array<{ table: string; rows: SubjectRow[]; cameBy?: Link }> = [];
  const add = (table: string, found: SubjectRow[], cameBy?: Link): void => {
    const set = sets.get(table)!;
    const fresh: SubjectRow[] = [];
    for (const row of found) {
      const key = row.ctid ?? `virtual:${set.size}`;
      const existing = set.get(key);
      if (existing) {
        if (row.owned && !existing.owned) {
          existing.owned = true;
          fresh.push(existing);
        }
        continue;
      }
      set.set(key, row);
      fresh.push(row);
    }
    if (fresh.length > 0) pending.push({ table, rows: fresh, ...(cameBy ? { cameBy } : {}) });
  };
  const select = async (table: string, where: string, params: unknown[], owned: boolean): Promise<SubjectRow[]> => {
    const cols = linkColumns(plan, table);
    const list = [`${ROW_ID_SQL} AS "__ctid"`, ...cols.map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`)].join(", ");
    const sql = `SELECT ${list} FROM ${qualified(plan.schemaName, table)} WHERE ${where}${lock ? " FOR UPDATE" : ""}`;
    const res = await db.query<Record<string, string | null>>(sql, params);
    return res.rows.map((r) => {
      const { __ctid, ...values } = r;
      return { ctid: __ctid ?? null, values, owned };
    });
  };

  const subjectInfo = plan.tables.get(plan.subjectTable)!.info;
  const seedType = subjectInfo.columns.get(seed.column)?.sqlType ?? "text";
  add(plan.subjectTable, [
    ...(seed.virtual ?? []).map((values) => ({ ctid: null, values, owned: true })),
    ...(await select(plan.subjectTable, `${quoteIdent(seed.column)} = $1::text::${seedType}`, [seed.value], true)),
  ]);

  while (pending.length > 0) {
    const { table, rows, cameBy } = pending.shift()!;
    for (const link of plan.links) {
      if (link.to.table === table)
        await follow(
          link,
          "incoming",
          rows.filter((r) => r.owned),
        );
      if (link.from.table === table && link !== cameBy) await follow(link, "outgoing", rows);
    }
  }
  return sets;

  async function follow(link: Link, dir: "incoming" | "outgoing", rows: SubjectRow[]): Promise<void> {
    const [src, dst] = dir === "incoming" ? [link.to, link.from] : [link.from, link.to];
    const tuples = tuplesOf(rows, src.columns);
    if (tuples.length === 0) return;
    const m = matchSql(plan, dst.table, dst.columns, tuples, 1, link.match);
    add(dst.table, await select(dst.table, m.sql, m.params, dir === "incoming"), dir === "incoming" ? link : undefined);
  }
}
