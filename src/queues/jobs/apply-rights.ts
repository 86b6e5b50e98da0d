import type { Queue } from "bullmq";
import { z } from "zod";
import type { Config } from "../../config";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of a rights request's store job. */
export function applyRightsJobId(requestId: string): string {
  return `rights-${requestId}`;
}

/**
 * `apply-rights`: the stores' part of a rectification (or of a consent withdrawal that erases
 * fields): each store changed once, then the recipients told. Payload: the request id only.
 */
export const APPLY_RIGHTS = defineJob({
  name: "apply-rights",
  queue: QUEUES.rights,
  payload: z.object({ requestId: z.uuid() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => applyRightsJobId(p.requestId),
});

/** Adds the request's store job; `replaceFinished` first removes a finished one of the same id (a retried request). */
export async function enqueueApplyRights(queue: Queue, config: Config, requestId: string, options: { replaceFinished?: boolean } = {}): Promise<void> {
  if (options.replaceFinished) {
    const old = await queue.getJob(applyRightsJobId(requestId));
    if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove().catch(() => undefined);
  }
  await APPLY_RIGHTS.enqueue(queue, config, { requestId });
}
