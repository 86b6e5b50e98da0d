import { ERROR_CODES, PermanentError } from "../src/errors";
import { startErasure, storeOfError } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import { ERASE_REQUEST } from "../src/queues/jobs/erase-request";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** Processes one attempt; on the last one the request is marked failed (reason without personal data). */
export const eraseRequest = processorOf(ERASE_REQUEST, async ({ requestId }, job, { services, logger: log }) => {
  try {
    const outcome = await startErasure(services, requestId, log);
    if (outcome.state === "completed") await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.completed");
    return outcome;
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "erasure failed" : "erasure attempt failed; will retry");
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest)) {
      // A store's failure keeps the identities for a retry; a failure of the request itself (bad id) wipes them.
      const store = storeOfError(err);
      await markRequestFailed(services.ds, requestId, err, store, { wipeIdentities: !store && err instanceof PermanentError });
    }
    if (last) await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
});
