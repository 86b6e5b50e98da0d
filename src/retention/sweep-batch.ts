import type { ClientBase } from "pg";
import { qualified, quoteIdent } from "../stores/postgres/ident";
import { maskSql } from "../stores/postgres/masking";
import { ROW_ID_SQL, rowIdInSql } from "../stores/postgres/row-id";
import { postOrder, preOrder, type CascadeNode } from "./cascade";
import { ALIAS, batchWhere, inTuplesSql, maskSetSql, Params, type BatchInput } from "./sweep-sql";
import type { SweepPlan } from "./sweep-plan";

/** What one batch found and did. No values, counts only. */
export interface BatchCounts {
  /** Rows of the range past the cutoff that meet the conditions (masked already or not). */
  matched: number;
  /** Rows changed (anonymized or deleted); for a dry run, rows that would be. */
  changed: number;
  /** Rows skipped because their subject is under legal hold. */
  held: number;
  /** Rows of linked tables the sweep deleted, masked or detached, by table (a dry run: would). */
  cascaded: Record<string, number>;
}

const count = (v: unknown): number => Number(v ?? 0);

/**
 * One batch, in the caller's transaction:
 *
 * 1. the batch's due rows are read (and, for real, locked `FOR UPDATE`) with their row ids, their
 *    held / not-yet-masked state and the link values their dependents are found by — the
 *    batch's prepared id set;
 * 2. the link values of every deeper level are read, parents first, before anything changes (a
 *    link by email is followed before the email is masked);
 * 3. linked rows are deleted / masked / detached deepest first, each level one set-based
 *    statement joined to the id set (`sweep-sql.inTuplesSql`);
 * 4. the swept rows are changed by row id, so a condition that the cascade changed (an age taken
 *    from the linked rows just deleted) cannot drop them.
 *
 * Idempotent: deletes take rows still there, masks only rows not masked yet. `real: false`
 * counts what would change and changes nothing (a read-only transaction; no locks).
 */
export async function runBatch(db: ClientBase, plan: SweepPlan, input: BatchInput, real: boolean): Promise<BatchCounts> {
  if (real && plan.cascade.length === 0 && plan.age.every((t) => t.kind === "column")) return singleStatement(db, plan, input);
  const p = new Params();
  const w = batchWhere(plan, p, input);
  const rootColumns = [...new Set(plan.cascade.flatMap((n) => n.link.to.columns))];
  const select = [
    `${ROW_ID_SQL} AS "__rid"`,
    `${w.held ?? "false"} AS "__held"`,
    `${w.unmasked} AS "__unmasked"`,
    ...rootColumns.map((c, i) => `${ALIAS}.${quoteIdent(c)}::text AS "k${i}"`),
  ];
  const rows = (
    await db.query<Record<string, string | boolean | null>>(
      `SELECT ${select.join(", ")} FROM ${plan.target} ${ALIAS} WHERE ${w.range} AND ${w.due}${real ? ` FOR UPDATE OF ${ALIAS}` : ""}`,
      p.values,
    )
  ).rows;
  const held = rows.filter((r) => r.__held === true && r.__unmasked === true).length;
  const doomed = rows.filter((r) => r.__held !== true);
  const toChange = doomed.filter((r) => r.__unmasked === true);

  // 2. Link values per level, parents first.
  const parentTuples = new Map<CascadeNode, string[][]>();
  const tuplesOf = (values: Array<Record<string, string | boolean | null>>, columns: string[], name: (c: string) => string): string[][] => {
    const seen = new Map<string, string[]>();
    for (const v of values) {
      const t = columns.map((c) => v[name(c)]);
      if (t.some((x) => x === null || x === undefined)) continue;
      seen.set(JSON.stringify(t), t as string[]);
    }
    return [...seen.values()];
  };
  for (const n of plan.cascade)
    parentTuples.set(
      n,
      tuplesOf(doomed, n.link.to.columns, (c) => `k${rootColumns.indexOf(c)}`),
    );
  for (const n of preOrder(plan.cascade)) {
    const tuples = parentTuples.get(n)!;
    if (n.children.length === 0) continue;
    if (tuples.length === 0) {
      for (const c of n.children) parentTuples.set(c, []);
      continue;
    }
    const columns = [...new Set(n.children.flatMap((c) => c.link.to.columns))];
    const q = new Params();
    const where = inTuplesSql("x", linkColumns(plan, n), q, tuples, n.link.match);
    const found = (
      await db.query<Record<string, string | null>>(
        `SELECT DISTINCT ${columns.map((c, i) => `x.${quoteIdent(c)}::text AS "k${i}"`).join(", ")} FROM ${qualified(plan.schemaName, n.table)} x WHERE ${where}`,
        q.values,
      )
    ).rows;
    for (const c of n.children)
      parentTuples.set(
        c,
        tuplesOf(found, c.link.to.columns, (col) => `k${columns.indexOf(col)}`),
      );
  }

  // 3. Linked rows, deepest first.
  const cascaded: Record<string, number> = {};
  for (const n of postOrder(plan.cascade)) {
    const tuples = parentTuples.get(n)!;
    if (n.treatment === "none" || tuples.length === 0) continue;
    const n2 = await changeLinked(db, plan, n, tuples, input, real);
    if (n2 > 0) cascaded[n.table] = (cascaded[n.table] ?? 0) + n2;
  }

  // 4. The swept rows, by row id.
  let changed = plan.policy.action === "anonymize" ? toChange.length : doomed.length;
  if (real && doomed.length > 0) {
    const q = new Params();
    if (plan.policy.action === "anonymize") {
      const ids = q.add(toChange.map((r) => r.__rid as string));
      const pads = { ipad: q.add(input.maskKey.ipad, "bytea"), opad: q.add(input.maskKey.opad, "bytea") };
      const res =
        toChange.length === 0
          ? { rowCount: 0 }
          : await db.query(
              // The key placeholders are typed and used even when no mask of the table hashes.
              `UPDATE ${plan.target} AS ${ALIAS} SET ${maskSetSql(plan, pads)} WHERE ${rowIdInSql(ids)} AND ${pads.ipad} IS NOT NULL AND ${pads.opad} IS NOT NULL`,
              q.values,
            );
      changed = res.rowCount ?? 0;
    } else {
      const ids = q.add(doomed.map((r) => r.__rid as string));
      const res = await db.query(`DELETE FROM ${plan.target} AS ${ALIAS} WHERE ${rowIdInSql(ids)}`, q.values);
      changed = res.rowCount ?? 0;
    }
  }
  return { matched: rows.length, changed, held, cascaded };
}

/** The link columns of node `n`'s table (its side of the link to its parent), with their types. */
function linkColumns(plan: SweepPlan, n: CascadeNode): Array<{ name: string; sqlType: string }> {
  const info = plan.schema.tables.get(n.table);
  return n.link.from.columns.map((c) => ({ name: c, sqlType: info?.columns.get(c)?.sqlType ?? "text" }));
}

/** Deletes, masks or detaches the rows of `n` linked to the parent values `tuples` (or counts them); rows changed. */
async function changeLinked(db: ClientBase, plan: SweepPlan, n: CascadeNode, tuples: string[][], input: BatchInput, real: boolean): Promise<number> {
  const target = `${qualified(plan.schemaName, n.table)} AS x`;
  const q = new Params();
  const where = inTuplesSql("x", linkColumns(plan, n), q, tuples, n.link.match);
  if (n.treatment === "delete") {
    if (real) return (await db.query(`DELETE FROM ${target} WHERE ${where}`, q.values)).rowCount ?? 0;
    return count((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${target} WHERE ${where}`, q.values)).rows[0]?.n);
  }
  const info = plan.schema.tables.get(n.table)!;
  const sets: string[] = [];
  const pending: string[] = [];
  if (n.masks.length > 0) {
    const ipad = q.add(input.maskKey.ipad, "bytea");
    const opad = q.add(input.maskKey.opad, "bytea");
    const masked: string[] = [];
    for (const m of n.masks) {
      const sql = maskSql(m.mask, info.columns.get(m.column)!, ipad, opad);
      const c = quoteIdent(m.column);
      sets.push(`${c} = CASE WHEN ${sql.isMasked} THEN ${c} ELSE ${sql.value} END`);
      masked.push(sql.isMasked);
    }
    pending.push(`(${ipad} IS NOT NULL AND ${opad} IS NOT NULL AND NOT (${masked.join(" AND ")}))`);
  }
  for (const c of n.detach.filter((d) => !n.masks.some((m) => m.column === d))) {
    sets.push(`${quoteIdent(c)} = NULL`);
    pending.push(`x.${quoteIdent(c)} IS NOT NULL`);
  }
  const cond = `${where} AND (${pending.join(" OR ")})`;
  if (real) return (await db.query(`UPDATE ${target} SET ${sets.join(", ")} WHERE ${cond}`, q.values)).rowCount ?? 0;
  return count((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${target} WHERE ${cond}`, q.values)).rows[0]?.n);
}

/** Applies one batch (see {@link runBatch}). */
export function applyBatch(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  return runBatch(db, plan, input, true);
}

/** Dry run of one batch: the same counts {@link applyBatch} would report, changing nothing. */
export function countBatch(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  return runBatch(db, plan, input, false);
}

/**
 * A batch with nothing linked to reach and an age of the swept table's own columns: one
 * statement changes the due, unheld rows of the range and counts them (the cheapest form; no id
 * set needed, and a re-evaluated condition cannot change under it).
 */
async function singleStatement(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  const p = new Params();
  const w = batchWhere(plan, p, input);
  const base = `${w.range} AND ${w.due}`;
  const notHeld = w.held ? ` AND NOT ${w.held}` : "";
  const change =
    plan.policy.action === "anonymize"
      ? `UPDATE ${plan.target} AS ${ALIAS} SET ${maskSetSql(plan, w.pads!)} WHERE ${base} AND ${w.unmasked}${notHeld} RETURNING 1`
      : `DELETE FROM ${plan.target} AS ${ALIAS} WHERE ${base}${notHeld} RETURNING 1`;
  const held = w.held ? `, (SELECT count(*) FROM ${plan.target} ${ALIAS} WHERE ${base} AND ${w.unmasked} AND ${w.held}) AS held` : "";
  const res = await db.query<{ changed: string; matched: string; held?: string }>(
    `WITH changed AS (${change})
     SELECT (SELECT count(*) FROM changed) AS changed, (SELECT count(*) FROM ${plan.target} ${ALIAS} WHERE ${base}) AS matched${held}`,
    p.values,
  );
  const r = res.rows[0]!;
  return { matched: count(r.matched), changed: count(r.changed), held: count(r.held), cascaded: {} };
}
