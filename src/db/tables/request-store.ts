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

/** Placeholders (or SQL expressions) of {@link recordStoreSql}. */
export interface RecordStoreParams {
  request: string;
  store: string;
  /** `'prepared'` or `'done'` */
  state: string;
  xid: string;
  /** Parallel arrays: table names (`text[]`), actions (`text[]`), rows (`int[]`), grounds (`text[]`). */
  tables: string;
  actions: string;
  rows: string;
  grounds: string;
}

/**
 * CTEs (`rs_v`, `rs_cleared`, `rs_steps`, `rs_store`) that record a store's steps and its state,
 * for a statement of the request owner; nothing is written unless `guard` (SQL) holds.
 */
export function recordStoreSql(p: RecordStoreParams, guard = "true"): string {
  return `rs_v AS (SELECT * FROM unnest(${p.tables}::text[], ${p.actions}::text[], ${p.rows}::int[], ${p.grounds}::text[]) AS v(t, a, n, g)),
     rs_cleared AS (
       DELETE FROM lethe.request_step s WHERE s.request_id = ${p.request} AND s.store = ${p.store} AND (${guard})
          AND NOT EXISTS (SELECT 1 FROM rs_v v WHERE v.t = s.table_name AND v.a = s.action)),
     rs_steps AS (
       INSERT INTO lethe.request_step (request_id, store, table_name, action, rows, ground)
       SELECT ${p.request}, ${p.store}, t, a, n, g FROM rs_v WHERE (${guard})
       ON CONFLICT (request_id, store, table_name, action) DO UPDATE SET rows = EXCLUDED.rows, ground = EXCLUDED.ground),
     rs_store AS (
       INSERT INTO lethe.request_store (request_id, store, status, xid, finished_at)
       SELECT ${p.request}, ${p.store}, ${p.state}, ${p.xid}::bigint, CASE WHEN ${p.state} = 'done' THEN now() END WHERE (${guard})
       ON CONFLICT (request_id, store) DO UPDATE
         SET status = EXCLUDED.status, xid = EXCLUDED.xid, finished_at = EXCLUDED.finished_at, error_code = NULL, error_message = NULL)`;
}

/** The parameter values of {@link recordStoreSql}'s step arrays. */
export function stepArrays(steps: StepCount[]): [string[], string[], number[], Array<string | null>] {
  return [steps.map((s) => s.table), steps.map((s) => s.action), steps.map((s) => s.rows), steps.map((s) => s.ground ?? null)];
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
    `WITH ${recordStoreSql({ request: "$1::uuid", store: "$2::text", state: "$3::text", xid: "$4", tables: "$5", actions: "$6", rows: "$7", grounds: "$8" })}
     SELECT 1`,
    [requestId, store, state, xid, ...stepArrays(steps)],
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
  const steps = stores.flatMap(({ store, steps }) => steps.map((s) => ({ ...s, store })));
  await queryRows(
    ds,
    `WITH v AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) AS v(s, t, a, n, g)),
          cleared AS (
            DELETE FROM lethe.request_step st WHERE st.request_id = $1 AND st.store = ANY($7::text[])
               AND NOT EXISTS (SELECT 1 FROM v WHERE v.s = st.store AND v.t = st.table_name AND v.a = st.action)),
          steps AS (
            INSERT INTO lethe.request_step (request_id, store, table_name, action, rows, ground)
            SELECT $1, s, t, a, n, g FROM v
            ON CONFLICT (request_id, store, table_name, action) DO UPDATE SET rows = EXCLUDED.rows, ground = EXCLUDED.ground),
          committed AS (
            UPDATE lethe.request_store SET status = 'done', finished_at = now() WHERE request_id = $1 AND store = ANY($8::text[]) AND status = 'prepared')
     INSERT INTO lethe.request_store (request_id, store, status, xid, finished_at) SELECT $1, unnest($7::text[]), 'done', NULL, now()
     ON CONFLICT (request_id, store) DO UPDATE
       SET status = 'done', xid = NULL, finished_at = EXCLUDED.finished_at, error_code = NULL, error_message = NULL`,
    [
      requestId,
      steps.map((s) => s.store),
      steps.map((s) => s.table),
      steps.map((s) => s.action),
      steps.map((s) => s.rows),
      steps.map((s) => s.ground ?? null),
      stores.map((s) => s.store),
      preparedDone,
    ],
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
