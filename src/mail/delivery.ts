import type { DataSource, QueryRunner } from "typeorm";
import { withSessionLock } from "../db/session-lock";
import { claimDelivery, deliveryStatus, ensureDelivery, recordSendFailure } from "../db/tables/mail-delivery";
import { smtpFailure, SmtpRejectedError } from "./smtp-error";

/**
 * Exactly-once intent around an SMTP send. A delivery row with a unique key is written before
 * the send (`sending`, committed) and after it (`sent`), under a session advisory lock so two
 * workers (a stalled job picked up again while the first still runs) never send at the same
 * time. A job that finds `sent` does nothing.
 *
 * The one window no SMTP client can close: the server accepted the message and the process died
 * before `sent` was written. A later attempt then finds `sending` and sends again, with the same
 * Message-ID so receivers can drop the duplicate. Losing an access answer is worse than a
 * duplicate link.
 */

/** Identifies a delivery: its unique key (`export:<id>`), its kind and request. */
export interface DeliveryRef {
  key: string;
  kind: string;
  requestId: string | null;
}

/** What {@link deliverOnce} did. */
export type DeliveryResult = { state: "sent"; messageId: string; attempt: number; resent: boolean } | { state: "already-sent" } | { state: "already-failed" };

/**
 * Sends one message at most once per delivery key (see the module comment for the one window).
 * `send` does the SMTP transaction; `markSent` records success — it must set the row `sent`
 * (it gets the key) and may do more in the same statement (complete the request). A 5xx fails
 * the row for good and throws {@link SmtpRejectedError}; other failures set it back to `pending`
 * and throw a retryable error. Neither error carries the recipient.
 */
export async function deliverOnce(
  ds: DataSource,
  ref: DeliveryRef,
  send: () => Promise<{ messageId: string }>,
  markSent: (q: Pick<QueryRunner, "query">, messageId: string) => Promise<void>,
): Promise<DeliveryResult> {
  await ensureDelivery(ds, ref);
  return withSessionLock(ds, `lethe.mail_delivery:${ref.key}`, "another worker is sending this message", async (q) => {
    const claimed = await claimDelivery(q, ref.key);
    if (!claimed) return (await deliveryStatus(q, ref.key)) === "sent" ? { state: "already-sent" } : { state: "already-failed" };
    const { attempts, before } = claimed;
    let messageId: string;
    try {
      ({ messageId } = await send());
    } catch (err) {
      const failure = smtpFailure(err);
      await recordSendFailure(q, ref.key, { final: failure instanceof SmtpRejectedError, smtpCode: failure.info.smtpCode, code: failure.info.code });
      throw failure;
    }
    // The message is out: record it, retrying briefly so a blip in Postgres does not cause a resend.
    for (let attempt = 1; ; attempt++) {
      try {
        await markSent(q, messageId);
        break;
      } catch (err) {
        if (attempt >= 5) throw new Error("the message was sent but could not be recorded", { cause: err });
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    return { state: "sent", messageId, attempt: attempts, resent: before === "sending" };
  });
}
