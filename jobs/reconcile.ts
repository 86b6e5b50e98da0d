import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../src/config";
import { markRequestFailed } from "../src/erasure/finish-request";
import { reconcileExports } from "../src/exports/reconcile-exports";
import { resumeEndedHolds } from "../src/holds/holds";
import { PermanentError } from "../src/errors";
import type { Logger } from "../src/logger";
import { finalizeJobId, requestJobId } from "../src/queues/names";
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
 * Re-enqueues every unfinished request whose jobs are missing (Redis lost them, or the API died
 * between its insert and its enqueue) — its entry job re-adds the flow for the stores not done —
 * resumes requests whose legal hold ended, and fails visibly any whose job failed for good.
 * Idempotent: job ids are deterministic.
 */
export async function reconcile(deps: {
  ds: DataSource;
  config: Config;
  erasureQueue: Queue;
  logger: Logger;
  /** With both, export requests are reconciled too (`exports/reconcile-exports`). */
  exportQueue?: Queue;
  mailQueue?: Queue;
}): Promise<ReconcileOutcome> {
  const rows = (await deps.ds.query(
    `SELECT id, status FROM lethe.subject_request WHERE status IN ('queued', 'running') AND type = 'erasure' AND updated_at < now() - ($1 || ' milliseconds')::interval ORDER BY received_at LIMIT 10000`,
    [String(GRACE_MS)],
  )) as Array<{ id: string; status: string }>;
  const outcome: ReconcileOutcome = { checked: rows.length, enqueued: 0, failed: 0 };
  // A failed request keeps its sealed identities for a retry, but not for ever.
  await deps.ds.query(
    `UPDATE lethe.subject_request SET identities = NULL WHERE status = 'failed' AND identities IS NOT NULL AND updated_at < now() - ($1 || ' hours')::interval`,
    [String(deps.config.failedIdentitiesTtlHours)],
  );
  for (const id of await resumeEndedHolds(deps.ds)) {
    await enqueueRequest(deps.erasureQueue, deps.config, id, { replaceFinished: true });
    outcome.enqueued++;
  }
  for (const { id, status } of rows) {
    const entry = await deps.erasureQueue.getJob(requestJobId(id));
    const parent = await deps.erasureQueue.getJob(finalizeJobId(id));
    if (!entry && !parent) {
      await enqueueRequest(deps.erasureQueue, deps.config, id);
      outcome.enqueued++;
      continue;
    }
    const states = await Promise.all([entry?.getState(), parent?.getState()]);
    if (status === "queued" && !parent && states[0] === "completed") {
      // Queued again (hold released, retried) but its finished entry job kept the id: run it anew.
      await enqueueRequest(deps.erasureQueue, deps.config, id, { replaceFinished: true });
      outcome.enqueued++;
      continue;
    }
    if (states.includes("failed")) {
      await markRequestFailed(deps.ds, id, new PermanentError("job_failed", "the request's job failed; see the dashboard"));
      outcome.failed++;
    }
  }
  if (deps.exportQueue && deps.mailQueue) {
    const exports = await reconcileExports({ ds: deps.ds, config: deps.config, exportQueue: deps.exportQueue, mailQueue: deps.mailQueue, graceMs: GRACE_MS });
    outcome.checked += exports.checked;
    outcome.enqueued += exports.enqueued;
    outcome.failed += exports.failed;
  }
  if (outcome.enqueued + outcome.failed > 0) deps.logger.info({ job: NAME, ...outcome }, "reconciled");
  return outcome;
}
