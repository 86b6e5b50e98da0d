import type { Job } from "bullmq";
import { z } from "zod";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { startErasure, storeOfError, type StartOutcome } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import type { ErasureRuntime } from "../src/erasure/runtime";
import type { Logger } from "../src/logger";
import { parsePayload } from "../src/queues/payload";
import { enqueueNotifyApp } from "./notify-app";
import { isLastAttempt } from "./job-failure";

/** Job name: the entry of an erasure — snapshot, hold check, preview, or the per-store flow. */
export const NAME = "erase-request";

/** Payload: the request id only, never an identity. */
export const PAYLOAD = z.object({ requestId: z.uuid() }).strict();

/** Processes one attempt; on the last one the request is marked failed (reason without personal data). */
export async function processEraseRequest(rt: ErasureRuntime, job: Job, logger: Logger): Promise<StartOutcome> {
  const { requestId } = parsePayload(PAYLOAD, job.data, NAME);
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  try {
    const outcome = await startErasure(rt, requestId, log);
    if (outcome.state === "completed") await enqueueNotifyApp(rt.maintenanceQueue, rt.config, requestId, "request.completed");
    return outcome;
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "erasure failed" : "erasure attempt failed; will retry");
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest)) {
      // A store's failure keeps the identities for a retry; a failure of the request itself (bad id) wipes them.
      const store = storeOfError(err);
      await markRequestFailed(rt.ds, requestId, err, store, { wipeIdentities: !store && err instanceof PermanentError });
    }
    if (last) await enqueueNotifyApp(rt.maintenanceQueue, rt.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
}
