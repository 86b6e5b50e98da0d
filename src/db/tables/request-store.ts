import type { DataSource } from "typeorm";
import type { StepCount } from "../../types";
import { RequestStepEntity, type RequestStep } from "../entities/request-step";
import { queryRows, type Sql } from "./sql";

/**
 * Owner of `lethe.request_store` (each store's state within a request: `prepared` with its
 * transaction id, `done`, `failed`) and `lethe.request_step` (what a request did to each table of
 * each store: action and rows). Statements that must change a request and its stores at once use
 * the fragments below inside the request owner's statement.
 */

/** A request's steps as entities, in order (the request's view). */
export function stepsOfRequest(ds: Pick<DataSource, "getRepository">, requestId: string): Promise<RequestStep[]> {
  return ds.getRepository(RequestStepEntity).find({ where: { requestId }, order: { id: "ASC" } });
}

/** The steps recorded for a request (optionally one store), in order. */
export async function recordedSteps(ds: Sql, requestId: string, store?: string): Promise<StepCount[]> {
  const rows = (await ds.query(
    `SELECT store, table_name, action, rows, ground FROM lethe.request_step WHERE request_id = $1 AND ($2::text IS NULL OR store = $2) ORDER BY id`,
    [requestId, store ?? null],
  )) as Array<{ store: string; table_name: string; action: StepCount["action"]; rows: number; ground: string | null }>;
  return rows.map((r) => ({ store: r.store, table: r.table_name, action: r.action, rows: r.rows, ...(r.ground ? { ground: r.ground } : {}) }));
}

/**
 * CTEs (`rec_steps_in`, `rec_cleared`, `rec_steps`, `rec_store`) that record stores' steps and
 * states, for a statement of a request owner. `targets` names a relation with one row per
 * (request, store) to record: `rid` (uuid), `store`, `state` (`'prepared'` or `'done'`), `xid`
 * (bigint, null without a transaction) and `steps` (a jsonb array of `{t, a, n, g}`: table,
 * action, rows, ground). Each target's steps replace its earlier ones (an earlier attempt's table
 * that is no longer erased is dropped) and its store row takes the state, errors cleared.
 */
export function storesRecordedSql(targets: string): string {
  return `rec_steps_in AS (
       SELECT x.rid, x.store, s.t, s.a, s.n, s.g FROM ${targets} x, jsonb_to_recordset(x.steps) AS s(t text, a text, n int, g text)),
     rec_cleared AS (
       DELETE FROM lethe.request_step st USING ${targets} x WHERE st.request_id = ANY (ARRAY(SELECT rid FROM ${targets}))
          AND st.request_id = x.rid AND st.store = x.store
          AND NOT EXISTS (SELECT 1 FROM rec_steps_in v WHERE v.rid = st.request_id AND v.store = st.store AND v.t = st.table_name AND v.a = st.action)),
     rec_steps AS (
       INSERT INTO lethe.request_step (request_id, store, table_name, action, rows, ground)
       SELECT rid, store, t, a, n, g FROM rec_steps_in
       ON CONFLICT (request_id, store, table_name, action) DO UPDATE SET rows = EXCLUDED.rows, ground = EXCLUDED.ground),
     rec_store AS (
       INSERT INTO lethe.request_store (request_id, store, status, xid, finished_at)
       SELECT rid, store, state, xid, CASE WHEN state = 'done' THEN now() END FROM ${targets}
       ON CONFLICT (request_id, store) DO UPDATE
         SET status = EXCLUDED.status, xid = EXCLUDED.xid, finished_at = EXCLUDED.finished_at, error_code = NULL, error_message = NULL)`;
}

/** Steps as {@link storesRecordedSql} reads them (`{t, a, n, g}`). */
export function stepsJson(steps: StepCount[]): Array<{ t: string; a: string; n: number; g: string | null }> {
  return steps.map((s) => ({ t: s.table, a: s.action, n: s.rows, g: s.ground ?? null }));
}

/**
 * Records a store's steps and its state in one statement. `prepared` (with the store
 * transaction's xid) before a Postgres COMMIT; `done` for stores without transactions.
 */
export async function recordStore(
  ds: Sql,
  requestId: string,
  store: string,
  steps: StepCount[],
  state: "prepared" | "done",
  xid: string | null,
): Promise<void> {
  await queryRows(
    ds,
    `WITH target AS (SELECT $1::uuid AS rid, $2::text AS store, $3::text AS state, $4::bigint AS xid, $5::jsonb AS steps),
     ${storesRecordedSql("target")}
     SELECT 1`,
    [requestId, store, state, xid, JSON.stringify(stepsJson(steps))],
  );
}

/**
 * Records several stores `done` with their steps in one statement: stores without transactions
 * that one job erased together (the entry job's inline stores) — and marks `preparedDone`, stores
 * whose transaction has committed, done in the same statement.
 */
export async function recordStoresDone(
  ds: Sql,
  requestId: string,
  stores: Array<{ store: string; steps: StepCount[] }>,
  preparedDone: string[] = [],
): Promise<void> {
  if (stores.length === 0 && preparedDone.length === 0) return;
  await queryRows(
    ds,
    `WITH target AS (
       SELECT $1::uuid AS rid, x.store, 'done'::text AS state, NULL::bigint AS xid, x.steps FROM jsonb_to_recordset($2::jsonb) AS x(store text, steps jsonb)),
     ${storesRecordedSql("target")},
     committed AS (
       UPDATE lethe.request_store SET status = 'done', finished_at = now() WHERE request_id = $1 AND store = ANY($3::text[]) AND status = 'prepared')
     SELECT 1`,
    [requestId, JSON.stringify(stores.map((s) => ({ store: s.store, steps: stepsJson(s.steps) }))), preparedDone],
  );
}

/** Marks a store done (after its transaction is known to have committed). */
export async function markStoreDone(ds: Sql, requestId: string, store: string): Promise<void> {
  await ds.query(`UPDATE lethe.request_store SET status = 'done', finished_at = now() WHERE request_id = $1 AND store = $2`, [requestId, store]);
}

/** A scalar subquery: the stores of request `<alias>.id` as a JSON array of `{store, status, xid}`. */
export function storesJsonSql(alias: string): string {
  return `coalesce((SELECT json_agg(json_build_object('store', s.store, 'status', s.status, 'xid', s.xid::text))
                        FROM lethe.request_store s WHERE s.request_id = ${alias}.id), '[]')`;
}

/** A CTE body: the request's `prepared` stores become `done` (a request that completes). */
export function preparedStoresDoneSql(requestParam: string): string {
  return `UPDATE lethe.request_store SET status = 'done', finished_at = coalesce(finished_at, now()) WHERE request_id = ${requestParam} AND status = 'prepared'`;
}

/** A CTE body: store `storeParam` of the request failed with a code and a message (unless it is done). */
export function storeFailedSql(p: { request: string; code: string; message: string; store: string }): string {
  return `UPDATE lethe.request_store SET status = 'failed', error_code = ${p.code}, error_message = ${p.message} WHERE request_id = ${p.request} AND store = ${p.store} AND status <> 'done'`;
}

/** A CTE body: forgets the request's failed stores, so a retry starts them over (done ones stay done). */
export function failedStoresClearedSql(requestParam: string): string {
  return `DELETE FROM lethe.request_store WHERE request_id = ${requestParam} AND status = 'failed'`;
}

/** Stores failed for good in requests not yet answered, by store (metrics, alerts). */
export async function failedStoreCounts(ds: Sql): Promise<Array<{ store: string; n: number }>> {
  return (await ds.query(
    `SELECT s.store, count(*)::int AS n FROM lethe.request_store s JOIN lethe.subject_request r ON r.id = s.request_id
      WHERE s.status = 'failed' AND r.status NOT IN ('completed', 'refused') AND NOT r.dry_run GROUP BY s.store`,
  )) as Array<{ store: string; n: number }>;
}
