import { finalizeErasure as finalize } from "../src/erasure/flow";
import { markRequestFailed } from "../src/erasure/finish-request";
import { FINALIZE_ERASURE } from "../src/queues/jobs/finalize-erasure";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** Processes one attempt; on the last one the request is marked failed. */
export const finalizeErasure = processorOf(FINALIZE_ERASURE, async ({ requestId }, job, { services, logger: log }) => {
  try {
    const outcome = await finalize(services, requestId, log);
    if (outcome.state === "completed") await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.completed");
    return outcome;
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "finalizing failed" : "finalizing attempt failed; will retry");
    if (last) await markRequestFailed(services.ds, requestId, err);
    if (last) await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
    throw err;
  }
});
