import { decryptJson } from "../crypto";
import { endRecipientEvent, getRecipientEvent, recordEventAttempt, type EventEnd, type EventKey } from "../db/tables/recipient-event";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import { RecipientUnavailableError, type RecipientMessage } from "../stores/rights-side";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";

/** What one attempt did (ids and statuses only). */
export type TellResult = { state: "ended"; status: string } | { state: "skipped"; reason: string };

/** The processor did not answer (or answered 408/429/5xx) before its deadline: the job waits and tries again, without spending an attempt. */
export class RecipientWaitError extends Error {
  override readonly name = "RecipientWaitError";
}

/**
 * Sends one recipient event (Art. 19) and records how it ended, exactly once per request,
 * recipient and action: the event row is the source of truth (a job for an ended event does
 * nothing), the processor dedupes on the idempotency key, and the payload is wiped when the event
 * ends. A processor that is down is waited for until the event's deadline, then the event fails.
 * Then the request is settled.
 */
export async function tellRecipient(s: RightsServices, key: EventKey, log: Logger, signal?: AbortSignal): Promise<TellResult> {
  const event = await getRecipientEvent(s.ds, key);
  if (!event) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown recipient event");
  if (event.status !== "pending") {
    await settleRequest(s, key.requestId);
    return { state: "skipped", reason: `event ${event.status}` };
  }
  const finish = async (end: EventEnd, onlyIfExpired = false): Promise<TellResult | null> => {
    const ended = await endRecipientEvent(s.ds, key, end, { onlyIfExpired });
    if (!ended) return null;
    log.info(
      { requestId: key.requestId, recipient: key.recipient, action: key.action, status: ended.status, httpStatus: ended.lastHttpStatus },
      "recipient event ended",
    );
    await settleRequest(s, key.requestId);
    return { state: "ended", status: ended.status };
  };
  const expired = (): Promise<TellResult | null> => finish({ status: "failed", errorCode: ERROR_CODES.processorDeadlineExceeded, httpStatus: null }, true);
  if (event.msLeft === 0) return (await expired()) ?? { state: "skipped", reason: "event moved on" };
  if (!event.payload) throw new PermanentError(ERROR_CODES.badPayload, "the event has no payload");
  const side = s.stores.rights(key.recipient);
  if (!side?.tell) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${key.recipient}" is not a processor`);
  const message = decryptJson<RecipientMessage>(s.config.encryptionKey, event.payload);
  try {
    const outcome = await side.tell(message, signal);
    await recordEventAttempt(s.ds, key, outcome.httpStatus);
    const end: EventEnd =
      outcome.state === "failed"
        ? { status: "failed", errorCode: outcome.code, httpStatus: outcome.httpStatus }
        : outcome.state === "skipped"
          ? { status: "skipped", reason: outcome.reason, httpStatus: outcome.httpStatus }
          : { status: outcome.state, httpStatus: outcome.httpStatus };
    return (await finish(end)) ?? { state: "skipped", reason: "event moved on" };
  } catch (err) {
    if (!(err instanceof RecipientUnavailableError)) throw err;
    await recordEventAttempt(s.ds, key, err.httpStatus);
    const ended = await expired();
    if (ended) return ended;
    log.warn({ requestId: key.requestId, recipient: key.recipient, action: key.action, code: err.code }, "recipient unavailable; will try again");
    throw new RecipientWaitError(err.message, { cause: err });
  }
}
