import type { Job } from "bullmq";
import { z } from "zod";
import { finalizeErasure } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import type { ErasureRuntime } from "../src/erasure/runtime";
import type { Logger } from "../src/logger";
import { enqueueNotifyApp } from "./notify-app";
import { parsePayload } from "../src/queues/payload";
import { isLastAttempt } from "./job-failure";

/** Job name: the parent of a request's flow — verifies every store, then completes the request. */
export const NAME = "finalize-erasure";

/** Payload: the request id only. */
export const PAYLOAD = z.object({ requestId: z.uuid() }).strict();

/** Processes one attempt; on the last one the request is marked failed. */
export async function processFinalizeErasure(rt: ErasureRuntime, job: Job, logger: Logger): Promise<{ state: string; rows: number }> {
  const { requestId } = parsePayload(PAYLOAD, job.data, NAME);
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  try {
    const outcome = await finalizeErasure(rt, requestId, log);
    if (outcome.state === "completed") await enqueueNotifyApp(rt.maintenanceQueue, rt.config, requestId, "request.completed");
    return outcome;
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "finalizing failed" : "finalizing attempt failed; will retry");
    if (last) await markRequestFailed(rt.ds, requestId, err);
    if (last) await enqueueNotifyApp(rt.maintenanceQueue, rt.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
}
