import { DelayedError } from "bullmq";
import { eraseOneStore, type StoreOutcome } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import { ERASE_STORE } from "../src/queues/jobs/erase-store";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { ProcessorUnavailableError } from "../src/stores/webhook/errors";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** Longest wait between two tries of an unavailable processor. */
export const MAX_WAIT_MS = 60_000;

/**
 * Processes one attempt. A store that accepted the erasure for later (a processor's 202) puts
 * the job back as delayed until it is checked again (or promoted by the processor's callback).
 */
export const eraseStore = processorOf(ERASE_STORE, async ({ requestId, store, waits }, job, { services, logger: log, token }) => {
  let outcome: StoreOutcome;
  try {
    outcome = await eraseOneStore(services, requestId, store, log);
  } catch (err) {
    if (err instanceof ProcessorUnavailableError && token) {
      // A processor that is down is waited for until its deadline (the adapter enforces it), not
      // until the job runs out of attempts: back off without spending one.
      const waited = waits ?? 0;
      await job.updateData({ requestId, store, waits: waited + 1 });
      await job.moveToDelayed(Date.now() + Math.min(MAX_WAIT_MS, services.config.backoffMs * 2 ** Math.min(waited, 16)), token);
      log.info({ requestId, store, waits: waited + 1 }, "processor unavailable; waiting");
      throw new DelayedError();
    }
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, store, last }, last ? "store erasure failed" : "store erasure attempt failed; will retry");
    if (last) await markRequestFailed(services.ds, requestId, err, store);
    if (last) await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
  if (outcome.state === "pending" && token) {
    await job.moveToDelayed(Date.now() + outcome.checkAgainInMs, token);
    throw new DelayedError();
  }
  return outcome;
});
