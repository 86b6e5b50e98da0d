import { getIncidentRow } from "../db/tables/incident";
import { freezingScopes, markScopeFailed } from "../db/tables/incident-scope";
import { pendingOfRunningFanouts } from "../db/tables/notification";
import { ERROR_CODES } from "../errors";
import { FREEZE_SCOPE, freezeJobId } from "../queues/jobs/freeze-scope";
import { NOTICE_CHUNK } from "../queues/jobs/send-notices";
import { SYNC_NOTICES } from "../queues/jobs/sync-notices";
import type { Services } from "../services";

/** What one pass did. */
export interface IncidentReconcileOutcome {
  checked: number;
  enqueued: number;
  failed: number;
}

/** Job states a queue holds while a job will still run. */
const LIVE_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children"] as const;

/**
 * Makes Redis agree with Postgres for the breach register: a scope left `freezing` whose job is
 * gone gets it back (one whose job failed for good fails visibly); and when the running fan-outs
 * have more pending notifications than the mail queue has jobs (Redis lost them), their sync runs
 * again — it re-adds every pending row's job, and ids are deterministic, so nothing is sent twice.
 */
export async function reconcileIncidents(services: Pick<Services, "ds" | "config" | "queues">, graceMs: number): Promise<IncidentReconcileOutcome> {
  const { ds, config, queues } = services;
  const outcome: IncidentReconcileOutcome = { checked: 0, enqueued: 0, failed: 0 };
  for (const scopeId of await freezingScopes(ds, graceMs)) {
    outcome.checked++;
    const job = await queues.breach.getJob(freezeJobId(scopeId));
    const state = job ? await job.getState() : "unknown";
    if (state === "failed") {
      await markScopeFailed(ds, scopeId, ERROR_CODES.jobFailed, "the freeze job failed; see the dashboard, then freeze the scope again");
      outcome.failed++;
    } else if (!job || state === "completed" || state === "unknown") {
      if (job) await job.remove().catch(() => undefined);
      await FREEZE_SCOPE.enqueue(queues.breach, config, { scopeId });
      outcome.enqueued++;
    }
  }
  const pending = await pendingOfRunningFanouts(ds, graceMs);
  if (pending.length === 0) return outcome;
  outcome.checked += pending.length;
  const counts = await queues.mail.getJobCounts(...LIVE_STATES);
  const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
  const total = pending.reduce((a, p) => a + p.pending, 0);
  // A notice job carries up to NOTICE_CHUNK people: fewer jobs than that covers means some are missing.
  if (total <= jobs * NOTICE_CHUNK) return outcome;
  const generation = Math.floor(Date.now() / Math.max(1, config.reconcileEveryMs));
  for (const p of pending) {
    if ((await getIncidentRow(ds, p.incident_id))?.fanout_state !== "running") continue;
    await SYNC_NOTICES.enqueue(queues.breach, config, { incidentId: p.incident_id, generation });
    outcome.enqueued++;
  }
  return outcome;
}
