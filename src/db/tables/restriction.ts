import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.restriction` (Art. 18): a restriction of a subject's processing with its ground
 * (18(1)(a)–(d)) and optional purpose. In force while `active` or `lifting`; `lifting` waits for
 * the notice to the person (Art. 18(3)), `lifted` once it was sent (or the DPO recorded why it
 * could not be). The subject is named by keyed hash; its key is kept in clear only while the
 * restriction is in force (the `lethe.restricted_subject_keys` view applications join), and its
 * identities sealed until the processors were told of the lift.
 */

/** Where a restriction stands. */
export type RestrictionStatus = "active" | "lifting" | "lifted";

/** A restriction as the API shows it (no personal data). */
export interface RestrictionView {
  id: string;
  requestId: string;
  ground: string;
  purpose: string | null;
  status: RestrictionStatus;
  openedAt: string;
  liftRequestedAt: string | null;
  liftNoticeId: string | null;
  /** Why the person could not be told before the lift, when the DPO recorded it. */
  noticeSkippedReason: string | null;
  liftedAt: string | null;
}

interface Row {
  id: string;
  request_id: string;
  ground: string;
  purpose: string | null;
  status: RestrictionStatus;
  opened_at: Date;
  lift_requested_at: Date | null;
  lift_notice_id: string | null;
  notice_skipped_reason: string | null;
  lifted_at: Date | null;
}

const COLUMNS = `id, request_id, ground, purpose, status, opened_at, lift_requested_at, lift_notice_id, notice_skipped_reason, lifted_at`;

function toView(r: Row): RestrictionView {
  return {
    id: r.id,
    requestId: r.request_id,
    ground: r.ground,
    purpose: r.purpose,
    status: r.status,
    openedAt: r.opened_at.toISOString(),
    liftRequestedAt: r.lift_requested_at?.toISOString() ?? null,
    liftNoticeId: r.lift_notice_id,
    noticeSkippedReason: r.notice_skipped_reason,
    liftedAt: r.lifted_at?.toISOString() ?? null,
  };
}

/** SQL condition (alias `x`) of a restriction in force. */
export const IN_FORCE_SQL = "x.status <> 'lifted'";

/** Opens a restriction with its audit entry (ground and purpose, never the subject). Returns its id. */
export async function insertRestriction(
  q: Sql,
  r: { requestId: string; subjectHash: string; subjectKey: string; subject: Buffer; ground: string; purpose: string | null; by: string },
): Promise<string> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.restriction (request_id, subject_hash, subject_key, subject, ground, purpose, status, opened_by)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING id, request_id, subject_hash, ground, purpose, opened_by),
     audit AS (
       ${appendAuditSql({ event: "'restriction.opened'", requestId: "request_id", subjectHash: "subject_hash", actor: "opened_by", detail: "jsonb_build_object('restrictionId', id, 'ground', ground, 'purpose', purpose)" }, "ins")})
     SELECT id FROM ins`,
    [r.requestId, r.subjectHash, r.subjectKey, r.subject, r.ground, r.purpose, r.by],
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** One restriction, or null. */
export async function getRestriction(q: Sql, id: string): Promise<RestrictionView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = (await q.query(`SELECT ${COLUMNS} FROM lethe.restriction WHERE id = $1`, [id])) as Row[];
  return rows[0] ? toView(rows[0]) : null;
}

/** A restriction with what its lift needs: the subject's hash and sealed identities (while kept). */
export async function restrictionForLift(q: Sql, id: string): Promise<(RestrictionView & { subjectHash: string; subject: Buffer | null }) | null> {
  const rows = (await q.query(`SELECT ${COLUMNS}, subject_hash, subject FROM lethe.restriction WHERE id = $1`, [id])) as Array<
    Row & { subject_hash: string; subject: Buffer | null }
  >;
  const r = rows[0];
  return r ? { ...toView(r), subjectHash: r.subject_hash, subject: r.subject } : null;
}

/** The restrictions of a subject (by keyed hash), in force first, newest first. */
export async function restrictionsOfSubject(q: Sql, subjectHash: string): Promise<RestrictionView[]> {
  const rows = (await q.query(`SELECT ${COLUMNS} FROM lethe.restriction WHERE subject_hash = $1 ORDER BY (status = 'lifted'), opened_at DESC`, [
    subjectHash,
  ])) as Row[];
  return rows.map(toView);
}

/** The restrictions a request opened. */
export async function restrictionsOfRequest(q: Sql, requestId: string): Promise<RestrictionView[]> {
  const rows = (await q.query(`SELECT ${COLUMNS} FROM lethe.restriction WHERE request_id = $1 ORDER BY opened_at`, [requestId])) as Row[];
  return rows.map(toView);
}

/** `active` → `lifting`, waiting for notice `noticeId`; false when the restriction was not active. */
export async function requestLift(q: Sql, id: string, lift: { by: string; reason: string; noticeId: string }): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.restriction SET status = 'lifting', lift_requested_by = $2, lift_requested_at = now(), lift_reason = $3, lift_notice_id = $4
        WHERE id = $1 AND status = 'active' RETURNING id, request_id, subject_hash, lift_requested_by),
     audit AS (
       ${appendAuditSql({ event: "'restriction.lift_requested'", requestId: "request_id", subjectHash: "subject_hash", actor: "lift_requested_by", detail: "jsonb_build_object('restrictionId', id, 'noticeId', $4::uuid)" }, "u")})
     SELECT count(*)::int AS n FROM u`,
    [id, lift.by, lift.reason, lift.noticeId],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** A CTE body: the `lifting` restriction whose notice is `$<noticeParam>` is lifted (its key dropped from the view). */
export function liftedByNoticeSql(noticeParam: string): string {
  return `UPDATE lethe.restriction SET status = 'lifted', lifted_at = now(), subject_key = NULL
           WHERE lift_notice_id = ${noticeParam} AND status = 'lifting' RETURNING id, request_id, subject_hash`;
}

/** A lift whose notice could not be sent takes effect with the DPO's reason for that, audited. False when it was not lifting. */
export async function liftWithoutNotice(q: Sql, id: string, by: string, reason: string): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.restriction SET status = 'lifted', lifted_at = now(), subject_key = NULL, notice_skipped_reason = $3
        WHERE id = $1 AND status = 'lifting' RETURNING id, request_id, subject_hash),
     audit AS (
       ${appendAuditSql({ event: "'restriction.lifted'", requestId: "request_id", subjectHash: "subject_hash", actor: "$2", detail: "jsonb_build_object('restrictionId', id, 'noticeSent', false)" }, "u")})
     SELECT count(*)::int AS n FROM u`,
    [id, by, reason],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** The sealed identities of a lifted restriction are wiped (its processors were told). */
export async function wipeRestrictionSubject(q: Sql, id: string): Promise<void> {
  await q.query(`UPDATE lethe.restriction SET subject = NULL WHERE id = $1 AND status = 'lifted'`, [id]);
}

/** Lifted restrictions whose processors were not told yet (their identities still sealed): ids, oldest first. */
export async function liftedAwaitingEvents(q: Sql): Promise<string[]> {
  const rows = (await q.query(`SELECT id FROM lethe.restriction WHERE status = 'lifted' AND subject IS NOT NULL ORDER BY lifted_at LIMIT 1000`)) as Array<{
    id: string;
  }>;
  return rows.map((r) => r.id);
}

/** A query of the keyed hashes of the subjects under a restriction in force (a sweep skips them, as it does held ones). */
export const RESTRICTED_HASHES_SQL = `SELECT x.subject_hash FROM lethe.restriction x WHERE ${IN_FORCE_SQL}`;

/**
 * CTEs (`er_u`, `er_audit`) for a statement of the request owner: the subject named by keyed hash
 * `hashSql` was erased (request `requestSql`), so its restrictions in force end — there is nothing
 * left to restrict, and their key in clear and sealed identities must not outlive the erasure —
 * recorded with that reason and audited. A null hash ends none. With `from` (a CTE of the caller's
 * statement), `hashSql` and `requestSql` are its columns: the subjects of several requests at once.
 */
export function endRestrictionsOfErasedSql(hashSql: string, requestSql: string, from?: string): string {
  return `er_u AS (
       UPDATE lethe.restriction x SET status = 'lifted', lifted_at = now(), subject_key = NULL, subject = NULL,
              lift_reason = coalesce(x.lift_reason, 'the subject was erased'), notice_skipped_reason = 'the subject was erased (Art. 17)'
         ${from === undefined ? "" : `FROM ${from}`}
        WHERE x.subject_hash = ${hashSql} AND x.status <> 'lifted'
          ${from === undefined ? "" : `AND x.subject_hash = ANY (ARRAY(SELECT ${hashSql} FROM ${from}))`}
        RETURNING x.id, x.subject_hash, ${requestSql} AS erased_by),
     er_audit AS (
       ${appendAuditSql({ event: "'restriction.ended'", requestId: "erased_by", subjectHash: "subject_hash", actor: "'worker'", detail: "jsonb_build_object('restrictionId', id, 'reason', 'erased')" }, "er_u")})`;
}

/** {@link endRestrictionsOfErasedSql} on its own. Returns how many ended. */
export async function endRestrictionsOfErased(q: Sql, subjectHash: string, requestId: string): Promise<number> {
  const rows = (await q.query(`WITH ${endRestrictionsOfErasedSql("$1::text", "$2::uuid")} SELECT count(*)::int AS n FROM er_u`, [
    subjectHash,
    requestId,
  ])) as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}
