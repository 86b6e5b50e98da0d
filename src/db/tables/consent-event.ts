import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.consent_event`: the append-only consent ledger (Art. 7(1), 7(3)). Each grant
 * and each withdrawal is one row (purpose, source, time), naming the subject by keyed hash; a
 * trigger refuses UPDATE, DELETE and TRUNCATE. The state of a consent is its latest event.
 */

/** One event of the ledger. */
export interface ConsentEventView {
  id: string;
  purpose: string;
  event: "granted" | "withdrawn";
  source: string;
  at: string;
  requestId: string | null;
  recordedBy: string;
}

/** Appends one event with its audit entry (purpose and event, never the subject); returns its id. */
export async function appendConsentEvent(
  q: Sql,
  e: { subjectHash: string; purpose: string; event: "granted" | "withdrawn"; source: string; requestId: string | null; by: string },
): Promise<string> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.consent_event (subject_hash, purpose, event, source, request_id, recorded_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, subject_hash, purpose, event, request_id, recorded_by),
     audit AS (
       ${appendAuditSql({ event: "'consent.' || event", requestId: "request_id", subjectHash: "subject_hash", actor: "recorded_by", detail: "jsonb_build_object('purpose', purpose, 'consentEventId', id)" }, "ins")})
     SELECT id::text AS id FROM ins`,
    [e.subjectHash, e.purpose, e.event, e.source, e.requestId, e.by],
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** A subject's ledger, oldest first. */
export async function consentLedger(q: Sql, subjectHash: string): Promise<ConsentEventView[]> {
  const rows = (await q.query(
    `SELECT id::text AS id, purpose, event, source, at, request_id, recorded_by FROM lethe.consent_event WHERE subject_hash = $1 ORDER BY id`,
    [subjectHash],
  )) as Array<{ id: string; purpose: string; event: "granted" | "withdrawn"; source: string; at: Date; request_id: string | null; recorded_by: string }>;
  return rows.map((r) => ({
    id: r.id,
    purpose: r.purpose,
    event: r.event,
    source: r.source,
    at: r.at.toISOString(),
    requestId: r.request_id,
    recordedBy: r.recorded_by,
  }));
}
