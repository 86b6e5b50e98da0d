import type { Job } from "bullmq";
import { z } from "zod";
import { ERROR_CODES, PermanentError } from "../src/errors";
import type { Logger } from "../src/logger";
import { executeRun, PolicyBusyError, type RetentionRuntime, type RunOutcome } from "../src/retention/execute-run";
import { markRunFailed, scheduledRun, SWEEP_JOB } from "../src/retention/runs";

/** Job name: executes one run of a retention policy (a sweep), from its checkpoint. */
export const NAME = SWEEP_JOB;

/**
 * Payload: the policy name, and the run id when the run was recorded before the job (a manual
 * trigger, the reconciler). A scheduled job carries the policy only; its run is keyed by job id.
 */
export const PAYLOAD = z
  .object({
    policy: z.string().min(1).max(63),
    runId: z.uuid().optional(),
  })
  .strict();
/** The payload type. */
export type SweepPayload = z.infer<typeof PAYLOAD>;

/** What the job returns: the run's counts, or why the tick was skipped. */
export type SweepResult = RunOutcome | { status: "skipped"; reason: string };

/**
 * Processes one attempt. A scheduled tick while a run of the policy is queued or running is
 * skipped (never run concurrently). A bad payload, an unknown policy or a permanent failure
 * fails at once; any failure on the last attempt marks the run `failed` — except "another
 * execution holds the policy", which must not fail the run that execution is doing.
 */
export async function processRetentionSweep(rt: RetentionRuntime, job: Job, logger: Logger, signal?: AbortSignal): Promise<SweepResult> {
  const parsed = PAYLOAD.safeParse(job.data);
  if (!parsed.success) throw new PermanentError(ERROR_CODES.badPayload, "retention-sweep payload must be {policy: string, runId?: uuid}");
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  let runId = parsed.data.runId;
  if (!runId) {
    const policy = rt.dataMap.retention.find((p) => p.name === parsed.data.policy);
    if (!policy) throw new PermanentError(ERROR_CODES.dataMapInvalid, `retention policy "${parsed.data.policy}" is not in the data map`);
    runId = (await scheduledRun(rt.ds, policy, job.id!)) ?? undefined;
    if (!runId) {
      log.info({ policy: policy.name }, "a run of this policy is already queued or running; tick skipped");
      return { status: "skipped", reason: "a run of this policy is already queued or running" };
    }
  }
  try {
    return await executeRun(rt, runId, {
      log,
      ...(signal ? { signal } : {}),
      progress: (p) => job.updateProgress({ ...p }),
    });
  } catch (err) {
    const last = err instanceof PermanentError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    log.warn({ err, runId, last }, last ? "sweep failed" : "sweep attempt failed; will retry from the checkpoint");
    if (last && !(err instanceof PolicyBusyError)) await markRunFailed(rt.ds, runId, err);
    throw err;
  }
}
