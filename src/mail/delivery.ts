import type { DataSource, QueryRunner } from "typeorm";
import type { DeliveryStatus } from "../db/entities/mail-delivery";
import { withSessionLock } from "../db/session-lock";
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
  await ds.query(`INSERT INTO lethe.mail_delivery (key, kind, request_id, status) VALUES ($1, $2, $3, 'pending') ON CONFLICT (key) DO NOTHING`, [
    ref.key,
    ref.kind,
    ref.requestId,
  ]);
  return withSessionLock(ds, `lethe.mail_delivery:${ref.key}`, "another worker is sending this message", async (q) => {
    const rows = (await q.query(
      `UPDATE lethe.mail_delivery d SET status = 'sending', attempts = d.attempts + 1, updated_at = now()
         FROM (SELECT key, status FROM lethe.mail_delivery WHERE key = $1) AS old
        WHERE d.key = old.key AND d.status IN ('pending', 'sending')
        RETURNING d.attempts, old.status AS before`,
      [ref.key],
    )) as [Array<{ attempts: number; before: DeliveryStatus }>, number] | Array<{ attempts: number; before: DeliveryStatus }>;
    const claimed = (Array.isArray(rows[0]) ? rows[0] : rows) as Array<{ attempts: number; before: DeliveryStatus }>;
    if (claimed.length === 0) {
      const now = (await q.query(`SELECT status FROM lethe.mail_delivery WHERE key = $1`, [ref.key])) as Array<{ status: DeliveryStatus }>;
      return now[0]?.status === "sent" ? { state: "already-sent" } : { state: "already-failed" };
    }
    const { attempts, before } = claimed[0]!;
    let messageId: string;
    try {
      ({ messageId } = await send());
    } catch (err) {
      const failure = smtpFailure(err);
      await q.query(`UPDATE lethe.mail_delivery SET status = $2, smtp_code = $3, error_code = $4, updated_at = now() WHERE key = $1`, [
        ref.key,
        failure instanceof SmtpRejectedError ? "failed" : "pending",
        failure.info.smtpCode,
        failure.info.code,
      ]);
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
