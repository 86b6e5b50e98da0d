import type { DataSource, EntityManager } from "typeorm";
import { sha256Hex } from "../crypto";
import { lastSeal, sealedRows, trySealLock, unsealedCount, unsealedRows, writeSeals, type AuditRow } from "../db/tables/audit-log";

/**
 * The audit log's hash chain. Appends are plain INSERTs (no lock, so they never serialize
 * requests; `db/tables/audit-log` is their one writer); a sealer links committed rows into a hash
 * chain in batches shortly after (`seq`, `prev_hash`, `hash`), so a sealed row that is edited or
 * removed breaks the chain.
 */

/** The `prev_hash` of the first sealed row. */
export const GENESIS_HASH = "0".repeat(64);

/** The hash of one row: sha256 over the previous hash and the row's canonical JSON. */
export function auditRowHash(prevHash: string, row: AuditRow): string {
  const canonical = JSON.stringify([row.id, row.at, row.event, row.request_id, row.subject_hash, row.actor, row.detail]);
  return sha256Hex(`${prevHash}\n${canonical}`);
}

/**
 * Seals committed, unsealed rows into the chain, oldest first, up to `limit` per call. One
 * sealer at a time (advisory lock); returns how many rows it sealed.
 */
export async function sealAuditLog(ds: DataSource, limit = 5000): Promise<number> {
  return ds.transaction(async (m) => {
    if (!(await trySealLock(m))) return 0;
    const rows = await unsealedRows(m, limit);
    if (rows.length === 0) return 0;
    const last = await lastSeal(m);
    let seq = BigInt(last?.seq ?? "0");
    let prev = last?.hash ?? GENESIS_HASH;
    const seals = { ids: [] as string[], seqs: [] as string[], prevs: [] as string[], hashes: [] as string[] };
    for (const row of rows) {
      seq += 1n;
      const hash = auditRowHash(prev, row);
      seals.ids.push(row.id);
      seals.seqs.push(seq.toString());
      seals.prevs.push(prev);
      seals.hashes.push(hash);
      prev = hash;
    }
    await writeSeals(m, seals);
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
  // Both reads in one snapshot: read one after the other, a sealer committing in between made a
  // report of the rows sealed before it and none left unsealed after it (4 sealed, 0 unsealed).
  const { rows, unsealed } = await manager.transaction("REPEATABLE READ", async (m) => {
    await m.query("SET TRANSACTION READ ONLY");
    return { rows: await sealedRows(m), unsealed: await unsealedCount(m) };
  });
  let prev = GENESIS_HASH;
  let expectedSeq = 1n;
  for (const r of rows) {
    if (BigInt(r.seq) !== expectedSeq || r.prev_hash !== prev || r.hash !== auditRowHash(prev, r)) {
      return { brokenAt: r.id, sealed: rows.length, unsealed };
    }
    prev = r.hash;
    expectedSeq += 1n;
  }
  return { brokenAt: null, sealed: rows.length, unsealed };
}
