import { resumeEndedHolds, unfinishedErasures, wipeStaleIdentities } from "../db/tables/subject-request";
import { ERROR_CODES, PermanentError } from "../errors";
import { reconcileExports } from "../exports/reconcile-exports";
import { reconcileIncidents } from "../incidents/reconcile-incidents";
import type { Logger } from "../logger";
import { enqueueRequest, requestJobId } from "../queues/jobs/erase-request";
import { finalizeJobId } from "../queues/jobs/finalize-erasure";
import type { Services } from "../services";
import { markRequestFailed } from "./finish-request";

/** Requests younger than this are left to the API, which enqueues right after its insert. */
export const GRACE_MS = 2000;

/** What one reconcile pass did. */
export interface ReconcileOutcome {
  checked: number;
  enqueued: number;
  failed: number;
}

/**
 * Makes Redis agree with Postgres, the source of truth: re-enqueues every unfinished erasure whose
 * jobs are missing (Redis lost them, or the API died between its insert and its enqueue) — its
 * entry job re-adds the flow for the stores not done — resumes requests whose legal hold ended,
 * fails visibly any whose job failed for good, then does the same for export requests
 * (`exports/reconcile-exports`) and the breach register (`incidents/reconcile-incidents`). Idempotent: job ids are deterministic. `logger` names the job.
 */
export async function reconcileRequests(services: Pick<Services, "ds" | "config" | "queues">, logger: Logger): Promise<ReconcileOutcome> {
  const { ds, config, queues } = services;
  const rows = await unfinishedErasures(ds, GRACE_MS);
  const outcome: ReconcileOutcome = { checked: rows.length, enqueued: 0, failed: 0 };
  // A failed request keeps its sealed identities for a retry, but not for ever.
  await wipeStaleIdentities(ds, config.failedIdentitiesTtlHours);
  for (const id of await resumeEndedHolds(ds)) {
    await enqueueRequest(queues.erasure, config, id, { replaceFinished: true });
    outcome.enqueued++;
  }
  for (const { id, status } of rows) {
    const entry = await queues.erasure.getJob(requestJobId(id));
    const parent = await queues.erasure.getJob(finalizeJobId(id));
    if (!entry && !parent) {
      await enqueueRequest(queues.erasure, config, id);
      outcome.enqueued++;
      continue;
    }
    const states = await Promise.all([entry?.getState(), parent?.getState()]);
    if (status === "queued" && !parent && states[0] === "completed") {
      // Queued again (hold released, retried) but its finished entry job kept the id: run it anew.
      await enqueueRequest(queues.erasure, config, id, { replaceFinished: true });
      outcome.enqueued++;
      continue;
    }
    if (states.includes("failed")) {
      await markRequestFailed(ds, id, new PermanentError(ERROR_CODES.jobFailed, "the request's job failed; see the dashboard"));
      outcome.failed++;
    }
  }
  const exportOutcome = await reconcileExports(services, GRACE_MS);
  outcome.checked += exportOutcome.checked;
  outcome.enqueued += exportOutcome.enqueued;
  outcome.failed += exportOutcome.failed;
  const incidents = await reconcileIncidents(services, GRACE_MS);
  outcome.checked += incidents.checked;
  outcome.enqueued += incidents.enqueued;
  outcome.failed += incidents.failed;
  if (outcome.enqueued + outcome.failed > 0) logger.info({ ...outcome }, "reconciled");
  return outcome;
}
