import type { Sql } from "./sql";

/**
 * Owner of `lethe.audit_log`, and its only writer. Rows name a subject only by keyed hash. An
 * append that must commit with the change it records is a fragment of the caller's statement
 * ({@link appendAuditSql}); the hash-chain sealer (`audit/log`) reads and seals through the
 * functions below.
 */

/** An audit row as SQL expressions of the caller's statement: placeholders, columns of a CTE, literals. */
export interface AuditRowSql {
  /** e.g. `'request.failed'` or `$3`. */
  event: string;
  requestId?: string;
  /** A keyed hash (`subject/hashes.subjectHash`), never the subject itself. */
  subjectHash?: string;
  actor: string;
  /** jsonb: ids, names and counts only, never personal values. */
  detail: string;
}

/**
 * The append as a statement of the caller's statement (its final INSERT, or a CTE), so the row
 * commits with the change it records, in the same round trip: one row per row of `from` (a CTE,
 * or a join of CTEs), or one row when there is no `from`.
 */
export function appendAuditSql(row: AuditRowSql, from?: string): string {
  const columns: Array<[string, string | undefined]> = [
    ["event", row.event],
    ["request_id", row.requestId],
    ["subject_hash", row.subjectHash],
    ["actor", row.actor],
    ["detail", row.detail],
  ];
  const used = columns.filter((c): c is [string, string] => c[1] !== undefined);
  const names = used.map(([c]) => c).join(", ");
  const values = used.map(([, v]) => v).join(", ");
  return `INSERT INTO lethe.audit_log (${names}) ${from === undefined ? `VALUES (${values})` : `SELECT ${values} FROM ${from}`}`;
}

/** What an audit row records. `detail` holds ids and counts only, never personal values. */
export interface AuditInput {
  event: string;
  requestId?: string | null;
  /** Keyed hash of the subject (see `subject/hashes.subjectHash`), never the subject itself. */
  subjectHash?: string | null;
  actor?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends one row on `q` (inside the caller's transaction when `q` is one). */
export async function appendAudit(q: Sql, input: AuditInput): Promise<void> {
  await q.query(appendAuditSql({ event: "$1", requestId: "$2", subjectHash: "$3", actor: "$4", detail: "$5" }), [
    input.event,
    input.requestId ?? null,
    input.subjectHash ?? null,
    input.actor ?? null,
    JSON.stringify(input.detail ?? {}),
  ]);
}

/** An audit row as the sealer reads it: every column as text under its own name. */
export interface AuditRow {
  id: string;
  at: string;
  event: string;
  request_id: string | null;
  subject_hash: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
}

// Columns are read as text under their own names; ORDER BY must therefore name the table's
// columns (`a.id`, `a.seq`), or it would sort by the text aliases ("10" before "9").
const ROW_COLUMNS = `id::text AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, event, request_id, subject_hash, actor, detail`;

/** Takes the sealer's transaction-scoped lock; false when another sealer holds it. */
export async function trySealLock(m: Sql): Promise<boolean> {
  const got = (await m.query(`SELECT pg_try_advisory_xact_lock(hashtext('lethe.audit_log.seal')) AS ok`)) as Array<{ ok: boolean }>;
  return got[0]?.ok === true;
}

/** Committed rows not sealed yet, oldest first, at most `limit`. */
export async function unsealedRows(m: Sql, limit: number): Promise<AuditRow[]> {
  return (await m.query(`SELECT ${ROW_COLUMNS} FROM lethe.audit_log a WHERE a.seq IS NULL ORDER BY a.id LIMIT $1`, [limit])) as AuditRow[];
}

/** The chain's last link (its `seq` and hash), or undefined before the first seal. */
export async function lastSeal(m: Sql): Promise<{ seq: string; hash: string } | undefined> {
  const last = (await m.query(`SELECT a.seq::text AS seq, a.hash FROM lethe.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1`)) as Array<{
    seq: string;
    hash: string;
  }>;
  return last[0];
}

/** Writes the seals of rows `ids` (one statement). */
export async function writeSeals(m: Sql, seals: { ids: string[]; seqs: string[]; prevs: string[]; hashes: string[] }): Promise<void> {
  await m.query(
    `UPDATE lethe.audit_log a SET seq = v.seq, prev_hash = v.prev, hash = v.hash
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(id, seq, prev, hash) WHERE a.id = v.id`,
    [seals.ids, seals.seqs, seals.prevs, seals.hashes],
  );
}

/** Every sealed row in `seq` order, with its link. */
export async function sealedRows(m: Sql): Promise<Array<AuditRow & { seq: string; prev_hash: string; hash: string }>> {
  return (await m.query(
    `SELECT ${ROW_COLUMNS}, a.seq::text AS seq, a.prev_hash, a.hash FROM lethe.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq`,
  )) as Array<AuditRow & { seq: string; prev_hash: string; hash: string }>;
}

/** How many rows are not sealed yet. */
export async function unsealedCount(m: Sql): Promise<number> {
  const rows = (await m.query(`SELECT count(*)::int AS n FROM lethe.audit_log WHERE seq IS NULL`)) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

/**
 * The erasure ledger: keyed hashes (of the key and of every identity) of every subject whose
 * erasure completed, read from the audit log. Names nobody in clear.
 */
export async function erasedSubjectHashes(ds: Sql): Promise<Set<string>> {
  const rows = (await ds.query(
    `SELECT subject_hash, detail->'identityHashes' AS hashes FROM lethe.audit_log
      WHERE event = 'erasure.completed' AND coalesce((detail->>'subjectFound')::boolean, false)`,
  )) as Array<{ subject_hash: string | null; hashes: Record<string, string> | null }>;
  const set = new Set<string>();
  for (const r of rows) {
    if (r.subject_hash) set.add(r.subject_hash);
    for (const h of Object.values(r.hashes ?? {})) set.add(h);
  }
  return set;
}

/** The audit trail of one incident (rows whose `detail.incidentId` names it), oldest first. */
export async function incidentAuditRows(m: Sql, incidentId: string): Promise<AuditRow[]> {
  return (await m.query(`SELECT ${ROW_COLUMNS} FROM lethe.audit_log a WHERE a.detail->>'incidentId' = $1 AND a.detail ? 'incidentId' ORDER BY a.id`, [
    incidentId,
  ])) as AuditRow[];
}

/** The audit trail of one request, oldest first (the console's timeline). */
export async function requestAuditRows(m: Sql, requestId: string): Promise<AuditRow[]> {
  return (await m.query(`SELECT ${ROW_COLUMNS} FROM lethe.audit_log a WHERE a.request_id = $1 ORDER BY a.id`, [requestId])) as AuditRow[];
}
