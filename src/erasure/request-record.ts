import type { DataSource } from "typeorm";
import type { SubjectRequest } from "../db/entities/subject-request";
import { ERROR_CODES, PermanentError } from "../errors";
import type { StepCount } from "../types";

/** A request as the erasure jobs read it: one query, with its per-store progress. */
export interface LoadedRequest {
  id: string;
  type: SubjectRequest["type"];
  status: SubjectRequest["status"];
  dryRun: boolean;
  subjectHash: string;
  identities: Buffer | null;
  result: SubjectRequest["result"];
  stores: Array<{ store: string; status: string; xid: string | null }>;
}

/** Loads a request; a permanent error when there is none (a job for an unknown id never succeeds). */
export async function loadRequest(ds: DataSource, requestId: string): Promise<LoadedRequest> {
  const rows = (await ds.query(
    `SELECT r.id, r.type, r.status, r.dry_run AS "dryRun", r.subject_hash AS "subjectHash", r.identities, r.result,
            coalesce((SELECT json_agg(json_build_object('store', s.store, 'status', s.status, 'xid', s.xid::text))
                        FROM lethe.request_store s WHERE s.request_id = r.id), '[]') AS stores
       FROM lethe.subject_request r WHERE r.id = $1`,
    [requestId],
  )) as LoadedRequest[];
  const request = rows[0];
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  return request;
}

/** True once a request can change no more. */
export function isFinal(status: SubjectRequest["status"]): boolean {
  return status === "completed" || status === "failed";
}

/** The steps recorded for a request (optionally one store), in order. */
export async function recordedSteps(ds: DataSource, requestId: string, store?: string): Promise<StepCount[]> {
  const rows = (await ds.query(
    `SELECT store, table_name, action, rows, ground FROM lethe.request_step WHERE request_id = $1 AND ($2::text IS NULL OR store = $2) ORDER BY id`,
    [requestId, store ?? null],
  )) as Array<{ store: string; table_name: string; action: StepCount["action"]; rows: number; ground: string | null }>;
  return rows.map((r) => ({ store: r.store, table: r.table_name, action: r.action, rows: r.rows, ...(r.ground ? { ground: r.ground } : {}) }));
}

/**
 * Records a store's steps and its state in one statement. `prepared` (with the store
 * transaction's xid) before a Postgres COMMIT; `done` for stores without transactions.
 */
export async function recordStore(
  ds: DataSource,
  requestId: string,
  store: string,
  steps: StepCount[],
  state: "prepared" | "done",
  xid: string | null,
): Promise<void> {
  await ds.query(
    `WITH v AS (SELECT * FROM unnest($5::text[], $6::text[], $7::int[], $8::text[]) AS v(t, a, n, g)),
          cleared AS (
            DELETE FROM lethe.request_step s WHERE s.request_id = $1 AND s.store = $2
               AND NOT EXISTS (SELECT 1 FROM v WHERE v.t = s.table_name AND v.a = s.action)),
          steps AS (
            INSERT INTO lethe.request_step (request_id, store, table_name, action, rows, ground)
            SELECT $1, $2, t, a, n, g FROM v
            ON CONFLICT (request_id, store, table_name, action) DO UPDATE SET rows = EXCLUDED.rows, ground = EXCLUDED.ground)
     INSERT INTO lethe.request_store (request_id, store, status, xid, finished_at) VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'done' THEN now() END)
     ON CONFLICT (request_id, store) DO UPDATE
       SET status = EXCLUDED.status, xid = EXCLUDED.xid, finished_at = EXCLUDED.finished_at, error_code = NULL, error_message = NULL`,
    [requestId, store, state, xid, steps.map((s) => s.table), steps.map((s) => s.action), steps.map((s) => s.rows), steps.map((s) => s.ground ?? null)],
  );
}

/** Marks a store done (after its transaction is known to have committed). */
export async function markStoreDone(ds: DataSource, requestId: string, store: string): Promise<void> {
  await ds.query(`UPDATE lethe.request_store SET status = 'done', finished_at = now() WHERE request_id = $1 AND store = $2`, [requestId, store]);
}
