import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { enqueueRequest, requestJobId } from "../queues/jobs/erase-request";
import { storeJobId } from "../queues/jobs/erase-store";
import { finalizeJobId } from "../queues/jobs/finalize-erasure";

/** Why a retry was refused. */
export type RetryRefusal = "not-found" | "not-failed" | "identities-wiped" | "still-active";

/**
 * Resumes a failed erasure at its unfinished stores: finished stores are not redone (their
 * `request_store` rows stay `done`), failed ones start over; the old jobs are removed so the
 * deterministic ids can be used again.
 */
export async function retryRequest(
  ds: DataSource,
  queue: Queue,
  config: Config,
  dataMap: DataMap,
  requestId: string,
  by: string,
): Promise<"retried" | RetryRefusal> {
  if (!/^[0-9a-f-]{36}$/i.test(requestId)) return "not-found";
  const rows = (await ds.query(`SELECT status, identities IS NOT NULL AS has_identities FROM lethe.subject_request WHERE id = $1`, [requestId])) as Array<{
    status: string;
    has_identities: boolean;
  }>;
  const r = rows[0];
  if (!r) return "not-found";
  if (r.status !== "failed") return "not-failed";
  if (!r.has_identities) return "identities-wiped";
  const ids = [requestJobId(requestId), finalizeJobId(requestId), ...Object.keys(dataMap.stores).map((s) => storeJobId(requestId, s))];
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) continue;
    if (await job.isActive()) return "still-active";
    await job.remove({ removeChildren: true }).catch(() => undefined);
  }
  await ds.query(
    `WITH st AS (DELETE FROM lethe.request_store WHERE request_id = $1 AND status = 'failed'),
     -- A processor call that ended failed (rejected, deadline) would fail the store again without calling: start it over (same idempotency key).
     calls AS (DELETE FROM lethe.processor_call WHERE request_id = $1 AND status = 'failed'),
     req AS (UPDATE lethe.subject_request SET status = 'queued', error_code = NULL, error_message = NULL, updated_at = now()
              WHERE id = $1 AND status = 'failed' RETURNING id, subject_hash)
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail) SELECT 'request.retried', id, subject_hash, $2, '{}'::jsonb FROM req`,
    [requestId, by],
  );
  await enqueueRequest(queue, config, requestId);
  return "retried";
}
