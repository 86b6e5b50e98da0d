import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../src/config";
import { markRequestFailed } from "../src/erasure/run-request";
import { PermanentError } from "../src/errors";
import type { Logger } from "../src/logger";
import { requestJobId } from "../src/queues/names";
import { enqueueRequest } from "../src/requests/service";

/** Job name: makes Redis agree with Postgres, the source of truth. */
export const NAME = "reconcile";

/** Requests younger than this are left to the API, which enqueues right after its insert. */
export const GRACE_MS = 2000;

/** What one reconcile pass did. */
export interface ReconcileOutcome {
  checked: number;
  enqueued: number;
  failed: number;
}

/**
 * Re-enqueues every unfinished request whose job is missing (Redis lost it, or the API died
 * between its insert and its enqueue), and fails visibly any whose job failed for good.
 * Idempotent: job ids are deterministic.
 */
export async function reconcile(deps: { ds: DataSource; config: Config; erasureQueue: Queue; logger: Logger }): Promise<ReconcileOutcome> {
  const rows = (await deps.ds.query(
    `SELECT id FROM lethe.subject_request WHERE status IN ('queued', 'running') AND type = 'erasure' AND received_at < now() - ($1 || ' milliseconds')::interval ORDER BY received_at LIMIT 10000`,
    [String(GRACE_MS)],
  )) as Array<{ id: string }>;
  const outcome: ReconcileOutcome = { checked: rows.length, enqueued: 0, failed: 0 };
  for (const { id } of rows) {
    const job = await deps.erasureQueue.getJob(requestJobId(id));
    if (!job) {
      await enqueueRequest(deps.erasureQueue, deps.config, id);
      outcome.enqueued++;
      continue;
    }
    if ((await job.getState()) === "failed") {
      await markRequestFailed(deps.ds, id, new PermanentError("job_failed", "the request's job failed; see the dashboard"));
      outcome.failed++;
    }
  }
  if (outcome.enqueued + outcome.failed > 0) deps.logger.info({ job: NAME, ...outcome }, "reconciled");
  return outcome;
}
