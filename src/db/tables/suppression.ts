import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.suppression`: a subject (by keyed hash) whose data must no longer be processed
 * for a purpose — an objection to direct marketing (Art. 21(2)–(3)), or an objection under 21(1)
 * that was upheld. Written before the API answers; never removed by Lethe.
 */

/** A suppression as the API shows it. */
export interface SuppressionView {
  purpose: string;
  requestId: string | null;
  since: string;
}

/** Records a suppression (kept as it was when there is one already), with its audit entry. */
export async function insertSuppression(q: Sql, s: { subjectHash: string; purpose: string; requestId: string; by: string }): Promise<void> {
  await q.query(
    `WITH ins AS (
       INSERT INTO lethe.suppression (subject_hash, purpose, request_id) VALUES ($1, $2, $3)
       ON CONFLICT (subject_hash, purpose) DO NOTHING RETURNING subject_hash, purpose, request_id)
     ${appendAuditSql({ event: "'suppression.recorded'", requestId: "request_id", subjectHash: "subject_hash", actor: "$4", detail: "jsonb_build_object('purpose', purpose)" }, "ins")}`,
    [s.subjectHash, s.purpose, s.requestId, s.by],
  );
}

/** A subject's suppressions. */
export async function suppressionsOf(q: Sql, subjectHash: string): Promise<SuppressionView[]> {
  const rows = (await q.query(`SELECT purpose, request_id, created_at FROM lethe.suppression WHERE subject_hash = $1 ORDER BY created_at`, [
    subjectHash,
  ])) as Array<{ purpose: string; request_id: string | null; created_at: Date }>;
  return rows.map((r) => ({ purpose: r.purpose, requestId: r.request_id, since: r.created_at.toISOString() }));
}
