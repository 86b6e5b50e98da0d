import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { unfinishedRuns } from "../db/tables/retention-run";
import { ERROR_CODES, PermanentError } from "../errors";
import { RETENTION_SWEEP, runJobId } from "../queues/jobs/retention-sweep";
import { markRunFailed } from "./runs";

/** Runs younger than this are left to whoever created them, which enqueues right after its insert. */
export const RUN_GRACE_MS = 2000;

/** What one pass did. */
export interface RunReconcileOutcome {
  checked: number;
  enqueued: number;
  failed: number;
}

/**
 * Makes Redis agree with Postgres for retention runs: an unfinished run whose job is gone
 * (Redis lost it, or the creator died before enqueueing) gets its job again; one whose job
 * failed for good is marked failed, so the policy is free to run again. Idempotent.
 */
export async function reconcileRuns(ds: DataSource, queue: Queue, config: Config): Promise<RunReconcileOutcome> {
  const rows = await unfinishedRuns(ds, RUN_GRACE_MS);
  const outcome: RunReconcileOutcome = { checked: rows.length, enqueued: 0, failed: 0 };
  for (const run of rows) {
    const jobs = [await queue.getJob(run.job_id), run.job_id === runJobId(run.id) ? undefined : await queue.getJob(runJobId(run.id))].filter(
      (j) => j !== undefined,
    );
    const states = await Promise.all(jobs.map((j) => j.getState()));
    if (states.some((s) => s !== "failed" && s !== "completed" && s !== "unknown")) continue;
    if (states.includes("failed")) {
      await markRunFailed(ds, run.id, new PermanentError(ERROR_CODES.jobFailed, "the run's job failed; see the dashboard"));
      outcome.failed++;
      continue;
    }
    // A finished job of an unfinished run (its worker gave up without failing it): make room for a new one.
    for (const [i, j] of jobs.entries()) if (states[i] === "completed" && j.id === runJobId(run.id)) await j.remove();
    await RETENTION_SWEEP.enqueue(queue, config, { policy: run.policy, runId: run.id });
    outcome.enqueued++;
  }
  return outcome;
}
