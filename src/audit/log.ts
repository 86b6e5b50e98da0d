import type { DataSource, EntityManager } from "typeorm";
import { sha256Hex } from "../crypto";

/**
 * The audit log: append-only rows that name a subject only by keyed hash. Appends are plain
 * INSERTs (no lock, so they never serialize requests); a sealer links committed rows into a
 * hash chain in batches shortly after (`seq`, `prev_hash`, `hash`), so a sealed row that is
 * edited or removed breaks the chain.
 */

/** The `prev_hash` of the first sealed row. */
export const GENESIS_HASH = "0".repeat(64);

/** What an audit row records. `detail` holds ids and counts only, never personal values. */
export interface AuditInput {
  event: string;
  requestId?: string | null;
  /** Keyed hash of the subject (see `crypto.subjectHash`), never the subject itself. */
  subjectHash?: string | null;
  actor?: string | null;
  detail?: Record<string, unknown>;
}

interface AuditRow {
  id: string;
  at: string;
  event: string;
  request_id: string | null;
  subject_hash: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
}

/** The hash of one row: sha256 over the previous hash and the row's canonical JSON. */
export function auditRowHash(prevHash: string, row: AuditRow): string {
  const canonical = JSON.stringify([row.id, row.at, row.event, row.request_id, row.subject_hash, row.actor, row.detail]);
  return sha256Hex(`${prevHash}\n${canonical}`);
}

/** Appends one row, inside the caller's transaction (so it commits with the change it records). */
export async function appendAudit(manager: EntityManager | DataSource, input: AuditInput): Promise<void> {
  await manager.query(`INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail) VALUES ($1, $2, $3, $4, $5)`, [
    input.event,
    input.requestId ?? null,
    input.subjectHash ?? null,
    input.actor ?? null,
    JSON.stringify(input.detail ?? {}),
  ]);
}

// Columns are read as text under their own names; ORDER BY must therefore name the table's
// columns (`a.id`, `a.seq`), or it would sort by the text aliases ("10" before "9").
const ROW_COLUMNS = `id::text AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, event, request_id, subject_hash, actor, detail`;

/**
 * Seals committed, unsealed rows into the chain, oldest first, up to `limit` per call. One
 * sealer at a time (advisory lock); returns how many rows it sealed.
 */
export async function sealAuditLog(ds: DataSource, limit = 5000): Promise<number> {
  return ds.transaction(async (m) => {
    const got = (await m.query(`SELECT pg_try_advisory_xact_lock(hashtext('lethe.audit_log.seal')) AS ok`)) as Array<{ ok: boolean }>;
    if (!got[0]?.ok) return 0;
    const rows = (await m.query(`SELECT ${ROW_COLUMNS} FROM lethe.audit_log a WHERE a.seq IS NULL ORDER BY a.id LIMIT $1`, [limit])) as AuditRow[];
    if (rows.length === 0) return 0;
    const last = (await m.query(`SELECT a.seq::text AS seq, a.hash FROM lethe.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1`)) as Array<{
      seq: string;
      hash: string;
    }>;
    let seq = BigInt(last[0]?.seq ?? "0");
    let prev = last[0]?.hash ?? GENESIS_HASH;
    const ids: string[] = [];
    const seqs: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      seq += 1n;
      const hash = auditRowHash(prev, row);
      ids.push(row.id);
      seqs.push(seq.toString());
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    await m.query(
      `UPDATE lethe.audit_log a SET seq = v.seq, prev_hash = v.prev, hash = v.hash
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(id, seq, prev, hash) WHERE a.id = v.id`,
      [ids, seqs, prevs, hashes],
    );
    return rows.length;
  });
}

/** Result of {@link verifyAuditChain}. */
export interface ChainReport {
  /** Id of the first sealed row whose hash does not match, or null when the chain is intact. */
  brokenAt: string | null;
  sealed: number;
  /** Rows written but not sealed yet. */
  unsealed: number;
}

/** Re-computes the chain over the sealed rows in `seq` order. */
export async function verifyAuditChain(manager: EntityManager | DataSource): Promise<ChainReport> {
  const rows = (await manager.query(
    `SELECT ${ROW_COLUMNS}, a.seq::text AS seq, a.prev_hash, a.hash FROM lethe.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq`,
  )) as Array<AuditRow & { seq: string; prev_hash: string; hash: string }>;
  const unsealed = (await manager.query(`SELECT count(*)::int AS n FROM lethe.audit_log WHERE seq IS NULL`)) as Array<{ n: number }>;
  let prev = GENESIS_HASH;
  let expectedSeq = 1n;
  for (const r of rows) {
    if (BigInt(r.seq) !== expectedSeq || r.prev_hash !== prev || r.hash !== auditRowHash(prev, r)) {
      return { brokenAt: r.id, sealed: rows.length, unsealed: unsealed[0]!.n };
    }
    prev = r.hash;
    expectedSeq += 1n;
  }
  return { brokenAt: null, sealed: rows.length, unsealed: unsealed[0]!.n };
}
