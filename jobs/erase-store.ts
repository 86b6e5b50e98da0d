import { DelayedError, type Job } from "bullmq";
import { z } from "zod";
import { eraseOneStore, type StoreOutcome } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import type { ErasureRuntime } from "../src/erasure/runtime";
import type { Logger } from "../src/logger";
import { ProcessorUnavailableError } from "../src/stores/webhook/errors";
import { enqueueNotifyApp } from "./notify-app";
import { parsePayload } from "../src/queues/payload";
import { isLastAttempt } from "./job-failure";

/** Job name: erases one store of one request (a child of the request's flow). */
export const NAME = "erase-store";

/** Payload: request id and the store's data-map name. */
export const PAYLOAD = z.object({ requestId: z.uuid(), store: z.string().min(1).max(100), waits: z.number().int().min(0).optional() }).strict();

/** Longest wait between two tries of an unavailable processor. */
export const MAX_WAIT_MS = 60_000;

/**
 * Processes one attempt. A store that accepted the erasure for later (a processor's 202) puts
 * the job back as delayed until it is checked again (or promoted by the processor's callback).
 */
export async function processEraseStore(rt: ErasureRuntime, job: Job, token: string | undefined, logger: Logger): Promise<StoreOutcome> {
  const { requestId, store } = parsePayload(PAYLOAD, job.data, NAME);
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  let outcome: StoreOutcome;
  try {
    outcome = await eraseOneStore(rt, requestId, store, log);
  } catch (err) {
    if (err instanceof ProcessorUnavailableError && token) {
      // A processor that is down is waited for until its deadline (the adapter enforces it), not
      // until the job runs out of attempts: back off without spending one.
      const waits = (job.data as { waits?: number }).waits ?? 0;
      await job.updateData({ requestId, store, waits: waits + 1 });
      await job.moveToDelayed(Date.now() + Math.min(MAX_WAIT_MS, rt.config.backoffMs * 2 ** Math.min(waits, 16)), token);
      log.info({ requestId, store, waits: waits + 1 }, "processor unavailable; waiting");
      throw new DelayedError();
    }
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, store, last }, last ? "store erasure failed" : "store erasure attempt failed; will retry");
    if (last) await markRequestFailed(rt.ds, requestId, err, store);
    if (last) await enqueueNotifyApp(rt.maintenanceQueue, rt.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
  if (outcome.state === "pending" && token) {
    await job.moveToDelayed(Date.now() + outcome.checkAgainInMs, token);
    throw new DelayedError();
  }
  return outcome;
}
