import type { Queue } from "bullmq";
import { z } from "zod";
import type { Config } from "../../config";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of a request's entry job (BullMQ refuses `:` in custom ids). */
export function requestJobId(requestId: string): string {
  return `erasure-${requestId}`;
}

/** `erase-request`: the entry of an erasure — snapshot, hold check, preview, or the per-store flow. Payload: the request id only. */
export const ERASE_REQUEST = defineJob({
  name: "erase-request",
  queue: QUEUES.erasure,
  payload: z.object({ requestId: z.uuid() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => requestJobId(p.requestId),
});

/**
 * Adds the request's entry job (idempotent: the job id is derived from the request id).
 * `replaceFinished` first removes a finished job of the same id, for a request that runs again.
 */
export async function enqueueRequest(queue: Queue, config: Config, requestId: string, options: { replaceFinished?: boolean } = {}): Promise<void> {
  if (options.replaceFinished) {
    // A request that runs again (hold released, retried) reuses its deterministic id: drop the old, finished job.
    const old = await queue.getJob(requestJobId(requestId));
    if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove().catch(() => undefined);
  }
  await ERASE_REQUEST.enqueue(queue, config, { requestId });
}
