import type { EntityManager } from "typeorm";
import { sha256Hex } from "../crypto";

/** The `prev_hash` of the first audit row. */
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

/** The hash of one row: sha256 over the previous hash and the row's canonical JSON. */
export function auditRowHash(prevHash: string, at: string, input: AuditInput): string {
  const canonical = JSON.stringify([
    at,
    input.event,
    input.requestId ?? null,
    input.subjectHash ?? null,
    input.actor ?? null,
    input.detail ?? {},
  ]);
  return sha256Hex(`${prevHash}\n${canonical}`);
}

/**
 * Appends one row to the hash chain. Appends are serialized by a transaction-scoped advisory
 * lock, so run this inside the transaction whose change it records.
 */
export async function appendAudit(manager: EntityManager, input: AuditInput): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtext('lethe.audit_log'))`);
  const last = (await manager.query(`SELECT hash FROM lethe.audit_log ORDER BY id DESC LIMIT 1`)) as Array<{ hash: string }>;
  const prevHash = last[0]?.hash ?? GENESIS_HASH;
  const at = new Date().toISOString();
  const hash = auditRowHash(prevHash, at, input);
  await manager.query(
    `INSERT INTO lethe.audit_log (at, event, request_id, subject_hash, actor, detail, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [at, input.event, input.requestId ?? null, input.subjectHash ?? null, input.actor ?? null, JSON.stringify(input.detail ?? {}), prevHash, hash],
  );
}

/** Re-computes the chain; returns the id of the first row that does not match, or null when intact. */
export async function verifyAuditChain(manager: EntityManager): Promise<string | null> {
  const rows = (await manager.query(
    `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, event, request_id, subject_hash, actor, detail, prev_hash, hash
       FROM lethe.audit_log ORDER BY id`,
  )) as Array<{ id: string; at: string; event: string; request_id: string | null; subject_hash: string | null; actor: string | null; detail: Record<string, unknown>; prev_hash: string; hash: string }>;
  let prev = GENESIS_HASH;
  for (const r of rows) {
    const expected = auditRowHash(prev, r.at, { event: r.event, requestId: r.request_id, subjectHash: r.subject_hash, actor: r.actor, detail: r.detail });
    if (r.prev_hash !== prev || r.hash !== expected) return r.id;
    prev = r.hash;
  }
  return null;
}
