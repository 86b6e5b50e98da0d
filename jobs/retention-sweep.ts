import { ERROR_CODES, PermanentError } from "../src/errors";
import { RETENTION_SWEEP } from "../src/queues/jobs/retention-sweep";
import { executeRun, PolicyBusyError, type RunOutcome } from "../src/retention/execute-run";
import { scheduledRun } from "../src/db/tables/retention-run";
import { markRunFailed } from "../src/retention/runs";
import { processorOf } from "./handler";

/** What the job returns: the run's counts, or why the tick was skipped. */
export type SweepResult = RunOutcome | { status: "skipped"; reason: string };

/**
 * Processes one attempt. A scheduled tick while a run of the policy is queued or running is
 * skipped (never run concurrently). A bad payload, an unknown policy or a permanent failure
 * fails at once; any failure on the last attempt marks the run `failed` — except "another
 * execution holds the policy", which must not fail the run that execution is doing.
 */
export const retentionSweep = processorOf(RETENTION_SWEEP, async (payload, job, { services, logger: log, signal }): Promise<SweepResult> => {
  let runId = payload.runId;
  if (!runId) {
    const policy = services.dataMap.retention.find((p) => p.name === payload.policy);
    if (!policy) throw new PermanentError(ERROR_CODES.dataMapInvalid, `retention policy "${payload.policy}" is not in the data map`);
    runId = (await scheduledRun(services.ds, policy, job.id!)) ?? undefined;
    if (!runId) {
      log.info({ policy: policy.name }, "a run of this policy is already queued or running; tick skipped");
      return { status: "skipped", reason: "a run of this policy is already queued or running" };
    }
  }
  try {
    return await executeRun(services, runId, {
      log,
      ...(signal ? { signal } : {}),
      progress: (p) => job.updateProgress({ ...p }),
    });
  } catch (err) {
    const last = err instanceof PermanentError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    log.warn({ err, runId, last }, last ? "sweep failed" : "sweep attempt failed; will retry from the checkpoint");
    if (last && !(err instanceof PolicyBusyError)) await markRunFailed(services.ds, runId, err);
    throw err;
  }
});
