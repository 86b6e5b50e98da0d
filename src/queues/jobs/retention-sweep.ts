import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of a manually triggered (or reconciled) run. */
export function runJobId(runId: string): string {
  return `retention-${runId}`;
}

/**
 * `retention-sweep`: executes one run of a retention policy (a sweep), from its checkpoint.
 * Payload: the policy name, and the run id when the run was recorded before the job (a manual
 * trigger, the reconciler). A scheduled job carries the policy only; its run is keyed by job id.
 */
export const RETENTION_SWEEP = defineJob({
  name: "retention-sweep",
  queue: QUEUES.retention,
  payload: z.object({ policy: z.string().min(1).max(63), runId: z.uuid().optional() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => {
    if (!p.runId) throw new Error("retention-sweep: only a run recorded first has a job id; schedules add the others");
    return runJobId(p.runId);
  },
});
