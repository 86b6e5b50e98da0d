import { markRequestFailed } from "../src/erasure/finish-request";
import { storeOfError } from "../src/erasure/flow";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { APPLY_RIGHTS } from "../src/queues/jobs/apply-rights";
import { applyRights } from "../src/rights/apply";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** Processes one attempt of a rights request's stores; on the last one the request fails visibly, naming the store. */
export const applyRightsJob = processorOf(APPLY_RIGHTS, async ({ requestId }, job, { services, logger: log, signal }) => {
  try {
    return await applyRights(services, requestId, log, signal);
  } catch (err) {
    const last = isLastAttempt(job, err);
    const store = storeOfError(err);
    log.warn({ err, requestId, store, last }, last ? "rights request failed" : "rights request attempt failed; will retry");
    if (last) {
      await markRequestFailed(services.ds, requestId, err, store);
      await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
    }
    throw err;
  }
});
