import { decryptJson } from "../crypto";
import { getNotice, markNoticeFailed, markNoticeSent, noticeDeliveryKey, type NoticeKind } from "../db/tables/rights-notice";
import { receiptRow } from "../db/tables/subject-request";
import { ERROR_CODES, PermanentError } from "../errors";
import { mailDomain } from "../exports/send-export-mail";
import type { Logger } from "../logger";
import { deliverOnce } from "../mail/delivery";
import { loadTemplates, renderMail, type MailTemplates } from "../mail/templates";
import { SEND_MAIL } from "../queues/jobs/send-mail";
import type { Services } from "../services";
import { NOTICE_TEMPLATE_VARS } from "./notice-templates";
import type { RightsServices } from "./services";
import type { RightsSealed } from "./types";

/**
 * Notices to the person (the extension, the refusal, a restriction's lift, an objection's
 * decision): one mail job each, one delivery row (`notice:<id>`) so a retried job never sends
 * twice. The address is read from the subject store when the mail is sent (`subject.contact.email`,
 * else the `email` identity) and never stored; what the notice announces takes effect in the
 * statement that records it sent.
 */

/** Every notice kind, in the order their templates load. */
export const NOTICE_KINDS: readonly NoticeKind[] = ["extension", "refusal", "restriction-lifted", "objection-decision"];

/** Loads (and checks) every notice kind's templates: at worker start-up, so a bad template stops the worker, not a request. */
export function loadNoticeTemplates(dir: string | null): Record<NoticeKind, MailTemplates> {
  return Object.fromEntries(NOTICE_KINDS.map((k) => [k, loadTemplates(`notice-${k}`, dir, NOTICE_TEMPLATE_VARS)])) as Record<NoticeKind, MailTemplates>;
}

/** Enqueues a notice's mail job (idempotent); a failure is left to the reconciler. */
export async function enqueueNotice(s: Pick<RightsServices, "config" | "queues" | "logger">, noticeId: string): Promise<void> {
  try {
    await SEND_MAIL.enqueue(s.queues.mail, s.config, { kind: "notice", noticeId });
  } catch (err) {
    s.logger.warn({ noticeId, err }, "enqueue failed; the reconciler will enqueue the notice");
  }
}

/** What the mail job returns (ids only). */
export type NoticeOutcome =
  { status: "sent"; noticeId: string; attempt: number; resent: boolean } | { status: "skipped" | "failed"; noticeId: string; reason: string };

const day = (iso: string | undefined): string => (iso ? iso.slice(0, 10) : "");

/**
 * Sends one notice (see the module comment). Returns the restriction it lifted through
 * `onEnded`, which also settles the request; no address in the result or the logs.
 */
export async function sendRightsNotice(
  services: Pick<Services, "ds" | "config" | "dataMap" | "stores" | "mail">,
  noticeId: string,
  log: Logger,
  onEnded: (notice: { requestId: string; liftedRestriction: string | null }) => Promise<void>,
): Promise<NoticeOutcome> {
  const mailer = services.mail;
  if (!mailer?.templates.notices) throw new Error("this process does not send notices (it does not run the mail queue)");
  const notice = await getNotice(services.ds, noticeId);
  if (!notice) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown notice id");
  if (notice.status !== "pending") {
    await onEnded({ requestId: notice.requestId, liftedRestriction: null });
    return { status: "skipped", noticeId, reason: `notice ${notice.status}` };
  }
  if (!notice.subject) throw new PermanentError(ERROR_CODES.badPayload, "the notice has no subject reference");
  const { ref } = decryptJson<RightsSealed>(services.config.encryptionKey, notice.subject);
  const subjectStore = services.dataMap.subject.store;
  const contact = await services.stores.rights(subjectStore)?.contactOf?.(ref);
  if (!contact?.email) {
    log.warn({ noticeId, kind: notice.kind }, "no contact address for the notice; recorded as failed");
    await markNoticeFailed(services.ds, noticeId, ERROR_CODES.noRecipient);
    await onEnded({ requestId: notice.requestId, liftedRestriction: null });
    return { status: "failed", noticeId, reason: ERROR_CODES.noRecipient };
  }
  const request = await receiptRow(services.ds, notice.requestId);
  const controller = services.dataMap.controller;
  const mail = renderMail(mailer.templates.notices[notice.kind], {
    ...notice.vars,
    requestId: notice.requestId,
    requestType: request?.type ?? "",
    receivedAt: day(request?.received_at.toISOString()),
    dueAt: notice.vars.dueAt ?? day(request?.due_at.toISOString()),
    reason: notice.reason ?? "",
    controllerName: controller?.name ?? "us",
    controllerContact: controller?.contact ?? "us",
    supervisoryAuthority: controller?.supervisoryAuthority ?? "the data protection authority of your country",
  });
  const messageId = `<notice-${noticeId}@${mailDomain(services.config.mailFrom)}>`;
  const key = noticeDeliveryKey(noticeId);
  let lifted: string | null = null;
  const result = await deliverOnce(
    services.ds,
    { key, kind: "notice", requestId: notice.requestId },
    () => mailer.transport.send({ to: contact.email!, ...mail, messageId }),
    async (q, sentId) => {
      lifted = await markNoticeSent(q, { noticeId, deliveryKey: key, messageId: sentId });
    },
  );
  if (result.state === "already-sent") lifted = await markNoticeSent(services.ds, { noticeId, deliveryKey: key, messageId });
  if (result.state === "already-failed") {
    await markNoticeFailed(services.ds, noticeId, ERROR_CODES.mailFailed);
    await onEnded({ requestId: notice.requestId, liftedRestriction: null });
    return { status: "failed", noticeId, reason: ERROR_CODES.mailFailed };
  }
  await onEnded({ requestId: notice.requestId, liftedRestriction: lifted });
  if (result.state === "sent") {
    log.info({ noticeId, kind: notice.kind, requestId: notice.requestId, attempt: result.attempt, resent: result.resent }, "notice sent");
    return { status: "sent", noticeId, attempt: result.attempt, resent: result.resent };
  }
  return { status: "skipped", noticeId, reason: "already sent" };
}

/** A notice whose mail failed for good (the job's last attempt): recorded, so what waits for it can move on. */
export async function failNotice(services: Pick<Services, "ds">, noticeId: string, err: unknown): Promise<string | null> {
  const code = (err as { code?: unknown } | null)?.code;
  await markNoticeFailed(services.ds, noticeId, typeof code === "string" && /^[a-z_]{1,40}$/.test(code) ? code : ERROR_CODES.mailFailed);
  return (await getNotice(services.ds, noticeId))?.requestId ?? null;
}
