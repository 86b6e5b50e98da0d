import type { Job } from "bullmq";
import { z } from "zod";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { markRequestFailed, runErasureRequest, type ErasureOutcome, type ErasureRuntime } from "../src/erasure/run-request";
import type { Logger } from "../src/logger";

/** Job name: runs one erasure request (or its preview) to its end. */
export const NAME = "erase-request";

/** Payload: the request id only, never an identity. */
export const PAYLOAD = z.object({ requestId: z.uuid() }).strict();
/** The payload type. */
export type ErasePayload = z.infer<typeof PAYLOAD>;

/**
 * Processes one attempt. A bad payload or a permanent failure fails at once; any failure on the
 * last attempt marks the request `failed` with a personal-data-free reason before rethrowing.
 */
export async function processEraseRequest(rt: ErasureRuntime, job: Job, logger: Logger): Promise<ErasureOutcome> {
  const parsed = PAYLOAD.safeParse(job.data);
  if (!parsed.success) throw new PermanentError(ERROR_CODES.badPayload, "erase-request payload must be {requestId: uuid}");
  const { requestId } = parsed.data;
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  try {
    return await runErasureRequest(rt, requestId, log);
  } catch (err) {
    const last = err instanceof PermanentError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    log.warn({ err, requestId, last }, last ? "erasure failed" : "erasure attempt failed; will retry");
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest)) await markRequestFailed(rt.ds, requestId, err);
    throw err;
  }
}
