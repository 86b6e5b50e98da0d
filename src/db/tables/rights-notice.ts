import { appendAuditSql } from "./audit-log";
import { deliverySentSql } from "./mail-delivery";
import { liftedByNoticeSql } from "./restriction";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.rights_notice`: a message to the person about their request — the Art. 12(3)
 * extension, the Art. 12(4) refusal, the lift of a restriction (Art. 18(3)), an objection's
 * decision. Sent through the mail queue once (its delivery row is `notice:<id>`); the person's
 * reference is sealed on the row until then. The controller's reasons are kept here, never in
 * the audit log.
 */

/** Why a notice is sent. */
export type NoticeKind = "extension" | "refusal" | "restriction-lifted" | "objection-decision";

/** A notice as the API shows it. */
export interface NoticeView {
  id: string;
  kind: NoticeKind;
  status: "pending" | "sent" | "failed";
  errorCode: string | null;
  createdAt: string;
  sentAt: string | null;
}

/** A notice as its sender reads it. */
export interface NoticeRow extends NoticeView {
  requestId: string;
  restrictionId: string | null;
  /** Sealed `{ ref }` of the person; null once sent or failed. */
  subject: Buffer | null;
  vars: Record<string, string>;
  reason: string | null;
  subjectHash: string;
}

interface Row {
  id: string;
  request_id: string;
  kind: NoticeKind;
  restriction_id: string | null;
  subject: Buffer | null;
  vars: Record<string, string>;
  reason: string | null;
  status: NoticeView["status"];
  error_code: string | null;
  created_at: Date;
  sent_at: Date | null;
  subject_hash: string;
}

const view = (r: Omit<Row, "request_id" | "restriction_id" | "subject" | "vars" | "reason" | "subject_hash">): NoticeView => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  errorCode: r.error_code,
  createdAt: r.created_at.toISOString(),
  sentAt: r.sent_at?.toISOString() ?? null,
});

/** The delivery key of a notice's mail. */
export function noticeDeliveryKey(noticeId: string): string {
  return `notice:${noticeId}`;
}

/** Queues a notice (the mail job is enqueued by the caller after commit); returns its id. */
export async function insertNotice(
  q: Sql,
  n: { requestId: string; kind: NoticeKind; restrictionId: string | null; subject: Buffer; vars: Record<string, string>; reason: string | null },
): Promise<string> {
  const rows = (await q.query(
    `INSERT INTO lethe.rights_notice (request_id, kind, restriction_id, subject, vars, reason, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id`,
    [n.requestId, n.kind, n.restrictionId, n.subject, JSON.stringify(n.vars), n.reason],
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** A notice with what its sender needs, or undefined. */
export async function getNotice(q: Sql, id: string): Promise<NoticeRow | undefined> {
  const rows = (await q.query(`SELECT n.*, r.subject_hash FROM lethe.rights_notice n JOIN lethe.subject_request r ON r.id = n.request_id WHERE n.id = $1`, [
    id,
  ])) as Row[];
  const r = rows[0];
  return r
    ? { ...view(r), requestId: r.request_id, restrictionId: r.restriction_id, subject: r.subject, vars: r.vars, reason: r.reason, subjectHash: r.subject_hash }
    : undefined;
}

/** A request's notices, oldest first. */
export async function noticesOfRequest(q: Sql, requestId: string): Promise<NoticeView[]> {
  const rows = (await q.query(`SELECT id, kind, status, error_code, created_at, sent_at FROM lethe.rights_notice WHERE request_id = $1 ORDER BY created_at`, [
    requestId,
  ])) as Row[];
  return rows.map(view);
}

/**
 * The notice's mail is out: in one statement its delivery is `sent`, the notice `sent` (the
 * person's reference wiped), the restriction it announced lifted (Art. 18(3): only now), and
 * the audit entries written. Returns the lifted restriction's id, if any.
 */
export async function markNoticeSent(q: Sql, s: { noticeId: string; deliveryKey: string; messageId: string }): Promise<string | null> {
  const rows = (await q.query(
    `WITH d AS (${deliverySentSql("$2", "$3")}),
     n AS (
       UPDATE lethe.rights_notice SET status = 'sent', sent_at = now(), subject = NULL, error_code = NULL, updated_at = now()
        WHERE id = $1 AND status = 'pending' RETURNING id, request_id, kind),
     lifted AS (${liftedByNoticeSql("$1")}),
     a1 AS (
       ${appendAuditSql({ event: "'notice.sent'", requestId: "n.request_id", subjectHash: "r.subject_hash", actor: "'worker'", detail: "jsonb_build_object('noticeId', n.id, 'kind', n.kind)" }, "n JOIN lethe.subject_request r ON r.id = n.request_id")}),
     a2 AS (
       ${appendAuditSql({ event: "'restriction.lifted'", requestId: "request_id", subjectHash: "subject_hash", actor: "'worker'", detail: "jsonb_build_object('restrictionId', id, 'noticeSent', true)" }, "lifted")})
     SELECT (SELECT id FROM lifted) AS lifted`,
    [s.noticeId, s.deliveryKey, s.messageId],
  )) as Array<{ lifted: string | null }>;
  return rows[0]?.lifted ?? null;
}

/** The notice could not be sent (no address, or the mail server refused it for good): `failed`, the reference wiped, audited. */
export async function markNoticeFailed(q: Sql, noticeId: string, code: string): Promise<void> {
  await q.query(
    `WITH n AS (
       UPDATE lethe.rights_notice SET status = 'failed', error_code = $2, subject = NULL, updated_at = now() WHERE id = $1 AND status = 'pending'
       RETURNING id, request_id, kind)
     ${appendAuditSql({ event: "'notice.failed'", requestId: "n.request_id", subjectHash: "r.subject_hash", actor: "'worker'", detail: "jsonb_build_object('noticeId', n.id, 'kind', n.kind, 'code', $2::text)" }, "n JOIN lethe.subject_request r ON r.id = n.request_id")}`,
    [noticeId, code],
  );
}

/** Pending notices not touched for `graceMs` (their mail job may be lost), oldest first. */
export async function stalePendingNotices(q: Sql, graceMs: number): Promise<string[]> {
  const rows = (await q.query(
    `SELECT id FROM lethe.rights_notice WHERE status = 'pending' AND updated_at < now() - ($1 || ' milliseconds')::interval ORDER BY created_at LIMIT 10000`,
    [String(graceMs)],
  )) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** A condition on request id expression `idExpr`: none of its notices waits to be sent. */
export function noPendingNoticesSql(idExpr: string): string {
  return `NOT EXISTS (SELECT 1 FROM lethe.rights_notice n WHERE n.request_id = ${idExpr} AND n.status = 'pending')`;
}
