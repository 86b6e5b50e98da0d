import { randomUUID } from "node:crypto";
import { Worker } from "bullmq";
import { noticeFor } from "../breach/notice-templates";
import { decryptJson } from "../crypto";
import { claimNotification, claimRefusal, markNotificationSent, markNotificationUndeliverable, releaseNotification } from "../db/tables/notification";
import { ERROR_CODES } from "../errors";
import { mailDomain } from "../exports/send-export-mail";
import type { Logger } from "../logger";
import { classifySmtpError, smtpFailure } from "../mail/smtp-error";
import { isThrottled, redactSmtpAnswer, replyCodeOf } from "../mail/throttle";
import type { Services } from "../services";
import type { NoticeCache } from "./notice-cache";

/** The header every notice carries: the notification's id, the same on every attempt, so a receiver (or a test's sink) can tell copies apart. */
export const NOTIFICATION_ID_HEADER = "X-Lethe-Notification-Id";

/** The header naming the incident's reference (`BR-2025-0001`). */
export const INCIDENT_HEADER = "X-Lethe-Incident";

/** What an affected person's sealed contact holds. */
export interface SealedContact {
  email: string | null;
  locale: string | null;
  country: string | null;
}

/** What one send did (ids and codes only; the job's return value). */
export type NoticeOutcome =
  | { status: "sent"; notificationId: string; attempt: number; resent: boolean }
  | { status: "undeliverable"; notificationId: string; code: string; smtpCode: number | null }
  | { status: "skipped"; notificationId: string; reason: string };

/** How the processor lets a send wait: move the job to delayed for `ms` (no attempt used) and stop. */
export type DelayJob = (ms: number) => Promise<never>;

/**
 * Sends one person their notice, exactly once per notification row as far as Lethe can know:
 * claim the row (`sending`, token, time) — refused when it is final, claimed by a live worker
 * (the job waits), or the fan-out is paused — open the sealed contact, send the notice in the
 * person's locale (with fallback) with the notification id header, record `sent` with the
 * server's answer. A 5xx marks the person undeliverable; a throttling answer (421, 454) gives the
 * row back, slows the whole mail queue for `LETHE_SMTP_THROTTLE_MS` and retries without using an
 * attempt; other 4xx and network errors give the row back and retry with backoff — on the last
 * attempt a 4xx from the server marks the person undeliverable, a network error leaves the row
 * pending for the reconciler. The one window no SMTP client can close — the server accepted the
 * message and the worker died before `sent` was written — leads to a second send of the same
 * notification (same id and Message-ID), flagged `resent`.
 */
export async function sendNotice(
  services: Pick<Services, "ds" | "config" | "queues" | "mail">,
  cache: NoticeCache,
  notificationId: string,
  ctx: { lastAttempt: boolean; delay: DelayJob; log: Logger },
): Promise<NoticeOutcome> {
  const { ds, config } = services;
  const mailer = services.mail;
  if (!mailer) throw new Error("this process does not send mail (it does not run the mail queue)");
  const token = randomUUID();
  const claim = await claimNotification(ds, notificationId, token, config.lockDurationMs);
  if (!claim) {
    const refusal = await claimRefusal(ds, notificationId, config.lockDurationMs);
    if (refusal.reason === "busy") return ctx.delay(refusal.retryInMs);
    return { status: "skipped", notificationId, reason: refusal.reason === "final" ? `already ${refusal.status}` : refusal.reason };
  }
  const undeliverable = async (code: string, smtpCode: number | null, response: string | null): Promise<NoticeOutcome> => {
    await markNotificationUndeliverable(ds, notificationId, { code: smtpCode, errorCode: code, response });
    ctx.log.debug({ notificationId, incidentId: claim.incident_id, code, smtpCode }, "notice undeliverable");
    return { status: "undeliverable", notificationId, code, smtpCode };
  };
  const contact = claim.contact ? decryptJson<SealedContact>(config.encryptionKey, claim.contact) : null;
  if (!contact?.email) return undeliverable(ERROR_CODES.noContact, null, null);
  const prepared = await cache.get(ds, claim.incident_id, claim.notice_version);
  if (!prepared) throw new Error(`notice version ${claim.notice_version} of incident ${claim.incident_id} is missing`);
  const notice = noticeFor(prepared, contact.locale);
  let answer: { response?: string };
  try {
    answer = await mailer.transport.send({
      to: contact.email,
      subject: notice.subject,
      text: notice.text,
      html: notice.html,
      messageId: `<notice-${notificationId}@${mailDomain(config.mailFrom)}>`,
      headers: { [NOTIFICATION_ID_HEADER]: notificationId, [INCIDENT_HEADER]: claim.reference, "Content-Language": notice.locale },
    });
  } catch (err) {
    const info = classifySmtpError(err);
    const response = redactSmtpAnswer((err as { response?: unknown }).response as string | undefined);
    if (isThrottled(err)) {
      await releaseNotification(ds, notificationId, token, { code: info.smtpCode, errorCode: ERROR_CODES.smtpThrottled });
      await services.queues.mail.rateLimit(config.smtpThrottleMs);
      ctx.log.warn({ notificationId, smtpCode: info.smtpCode, pauseMs: config.smtpThrottleMs }, "the mail server throttles; the mail queue slows down");
      throw Worker.RateLimitError();
    }
    if (info.permanent) return undeliverable(info.code, info.smtpCode, response);
    if (ctx.lastAttempt && info.smtpCode !== null) return undeliverable(info.code, info.smtpCode, response);
    await releaseNotification(ds, notificationId, token, { code: info.smtpCode, errorCode: info.code });
    throw smtpFailure(err);
  }
  // The message is out: record it, retrying briefly so a blip in Postgres does not cause a resend.
  for (let attempt = 1; ; attempt++) {
    try {
      await markNotificationSent(ds, notificationId, { code: replyCodeOf(answer.response), response: redactSmtpAnswer(answer.response) });
      break;
    } catch (err) {
      if (attempt >= 5) throw new Error("the notice was sent but could not be recorded", { cause: err });
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
  ctx.log.debug({ notificationId, incidentId: claim.incident_id, attempt: claim.attempts, resent: claim.resent }, "notice sent");
  return { status: "sent", notificationId, attempt: claim.attempts, resent: claim.resent };
}
