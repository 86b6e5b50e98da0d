import { DelayedError } from "bullmq";
import { endRecipientEvent } from "../src/db/tables/recipient-event";
import { ERROR_CODES } from "../src/errors";
import { TELL_RECIPIENT } from "../src/queues/jobs/tell-recipient";
import { settleRequest } from "../src/rights/settle";
import { RecipientWaitError, tellRecipient } from "../src/rights/tell";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** Longest wait between two tries of an unavailable recipient. */
export const MAX_WAIT_MS = 60_000;

/**
 * Processes one attempt of a recipient event. A recipient that is down is waited for (delayed,
 * without spending an attempt) until the event's deadline; any other error retries, and on the
 * last attempt the event fails visibly (the request then fails naming the recipient).
 */
export const tellRecipientJob = processorOf(TELL_RECIPIENT, async (payload, job, { services, logger: log, token, signal }) => {
  const { waits, ...key } = payload;
  try {
    return await tellRecipient(services, key, log, signal);
  } catch (err) {
    if (err instanceof RecipientWaitError && token) {
      const waited = waits ?? 0;
      await job.updateData({ ...key, waits: waited + 1 });
      await job.moveToDelayed(Date.now() + Math.min(MAX_WAIT_MS, services.config.backoffMs * 2 ** Math.min(waited, 16)), token);
      throw new DelayedError();
    }
    const last = isLastAttempt(job, err);
    log.warn({ err, ...key, last }, last ? "recipient event failed" : "recipient event attempt failed; will retry");
    if (last) {
      await endRecipientEvent(services.ds, key, { status: "failed", errorCode: ERROR_CODES.recipientFailed, httpStatus: null });
      await settleRequest(services, key.requestId);
    }
    throw err;
  }
});
