import type { ClientBase } from "pg";
import { qualified } from "../stores/postgres/ident";
import { ALIAS, batchWhere, dependentWhere, maskSetSql, Params, type BatchInput } from "./sweep-sql";
import type { SweepPlan } from "./sweep-plan";

/** What one batch found and did. No values, counts only. */
export interface BatchCounts {
  /** Rows of the range past the cutoff that meet the conditions (masked already or not). */
  matched: number;
  /** Rows changed (anonymized or deleted); for a dry run, rows that would be. */
  changed: number;
  /** Rows skipped because their subject is under legal hold. */
  held: number;
  /** Rows of dependents deleted first, by table. */
  cascaded: Record<string, number>;
}

const count = (v: unknown): number => Number(v ?? 0);

/**
 * Applies one batch inside the caller's transaction. Idempotent: an anonymize only touches rows
 * with a field not masked yet, a delete only rows still there, so re-running a batch changes
 * nothing more and `changed` counts only what this statement changed.
 */
export async function applyBatch(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  if (plan.dependents.length > 0) return deleteWithDependents(db, plan, input);
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

/**
 * A delete whose dependents the sweep deletes itself: lock the batch's due rows (so none
 * changes between the statements), delete the dependents deepest first, then the rows.
 */
async function deleteWithDependents(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  const where = () => {
    const p = new Params();
    const w = batchWhere(plan, p, input);
    return { p, w, base: `${w.range} AND ${w.due}`, doomed: `${w.range} AND ${w.due}${w.held ? ` AND NOT ${w.held}` : ""}` };
  };
  const lock = where();
  const locked = await db.query<{ matched: string; held: string }>(
    `WITH locked AS (SELECT ${lock.w.held ?? "false"} AS held FROM ${plan.target} ${ALIAS} WHERE ${lock.base} FOR UPDATE OF ${ALIAS})
     SELECT count(*) AS matched, count(*) FILTER (WHERE held) AS held FROM locked`,
    lock.p.values,
  );
  const cascaded: Record<string, number> = {};
  for (const dep of plan.dependents) {
    const d = where();
    const res = await db.query(`DELETE FROM ${qualified(plan.schemaName, dep.table)} AS x WHERE ${dependentWhere(plan, dep, "x", d.doomed)}`, d.p.values);
    cascaded[dep.table] = (cascaded[dep.table] ?? 0) + (res.rowCount ?? 0);
  }
  const last = where();
  const res = await db.query(`DELETE FROM ${plan.target} AS ${ALIAS} WHERE ${last.doomed}`, last.p.values);
  return { matched: count(locked.rows[0]?.matched), changed: res.rowCount ?? 0, held: count(locked.rows[0]?.held), cascaded };
}

/** Dry run of one batch: the same counts {@link applyBatch} would report, changing nothing. */
export async function countBatch(db: ClientBase, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  const p = new Params();
  const w = batchWhere(plan, p, input);
  const held = w.held ?? "false";
  const res = await db.query<{ matched: string; changed: string; held: string }>(
    `SELECT count(*) AS matched, count(*) FILTER (WHERE ${w.unmasked} AND NOT ${held}) AS changed, count(*) FILTER (WHERE ${w.unmasked} AND ${held}) AS held
       FROM ${plan.target} ${ALIAS} WHERE ${w.range} AND ${w.due}`,
    p.values,
  );
  const cascaded: Record<string, number> = {};
  for (const dep of plan.dependents) {
    const d = new Params();
    const dw = batchWhere(plan, d, input);
    const doomed = `${dw.range} AND ${dw.due}${dw.held ? ` AND NOT ${dw.held}` : ""}`;
    const r = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${qualified(plan.schemaName, dep.table)} x WHERE ${dependentWhere(plan, dep, "x", doomed)}`,
      d.values,
    );
    cascaded[dep.table] = (cascaded[dep.table] ?? 0) + count(r.rows[0]?.n);
  }
  const r = res.rows[0]!;
  return { matched: count(r.matched), changed: count(r.changed), held: count(r.held), cascaded };
}
