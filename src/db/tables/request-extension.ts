import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.request_extension`: the one Art. 12(3) extension a request may get (the primary
 * key makes a second one impossible), its months, the controller's reason (kept here, not in the
 * audit log), the original due date and the notice that tells the person.
 */

/** An extension as the request view shows it. */
export interface ExtensionView {
  months: number;
  reason: string;
  originalDueAt: string;
  extendedBy: string;
  extendedAt: string;
  noticeId: string;
}

/** Records the extension with its audit entry; false when the request has one already. */
export async function insertExtension(
  q: Sql,
  e: { requestId: string; months: number; reason: string; originalDueAt: Date; by: string; noticeId: string; subjectHash: string },
): Promise<boolean> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.request_extension (request_id, months, reason, original_due_at, extended_by, notice_id) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (request_id) DO NOTHING RETURNING request_id, months, extended_by, notice_id),
     audit AS (
       ${appendAuditSql({ event: "'request.extended'", requestId: "request_id", subjectHash: "$7", actor: "extended_by", detail: "jsonb_build_object('months', months, 'noticeId', notice_id)" }, "ins")})
     SELECT count(*)::int AS n FROM ins`,
    [e.requestId, e.months, e.reason, e.originalDueAt, e.by, e.noticeId, e.subjectHash],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** A request's extension, or null. */
export async function getExtension(q: Sql, requestId: string): Promise<ExtensionView | null> {
  const rows = (await q.query(`SELECT * FROM lethe.request_extension WHERE request_id = $1`, [requestId])) as Array<{
    months: number;
    reason: string;
    original_due_at: Date;
    extended_by: string;
    extended_at: Date;
    notice_id: string;
  }>;
  const r = rows[0];
  return r
    ? {
        months: r.months,
        reason: r.reason,
        originalDueAt: r.original_due_at.toISOString(),
        extendedBy: r.extended_by,
        extendedAt: r.extended_at.toISOString(),
        noticeId: r.notice_id,
      }
    : null;
}
