import type { Pool } from "pg";
import type { DataSource } from "typeorm";
import type { DataMap } from "../datamap/schema";
import { identityHashes } from "../holds/holds";
import { qualified, quoteIdent } from "../pg/ident";

/** What a replay found: keys (as text) of subjects the ledger says were erased. Held in memory only. */
export interface ReplayScan {
  scanned: number;
  found: string[];
}

/**
 * The erasure ledger: keyed hashes (of the key and of every identity) of every subject whose
 * erasure completed, read from the audit log. Names nobody in clear.
 */
export async function erasedSubjectHashes(ds: DataSource): Promise<Set<string>> {
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

/**
 * Walks the subject table of a (restored) database with a server-side cursor and returns the
 * keys of rows whose key or identity hashes are in the erasure ledger: people a restored backup
 * brought back. Memory: one batch of rows plus the ledger's hashes.
 */
export async function scanForErased(pool: Pool, dataMap: DataMap, ledger: Set<string>, hmacKey: Buffer, batch = 5000): Promise<ReplayScan> {
  const store = dataMap.stores[dataMap.subject.store];
  if (!store || store.kind !== "postgres") throw new Error("replay needs the subject's postgres store");
  const { table, key, identities } = dataMap.subject;
  const cols = [`${quoteIdent(key)}::text AS id`, ...Object.entries(identities).map(([name, col]) => `${quoteIdent(col)}::text AS ${quoteIdent(name)}`)];
  const client = await pool.connect();
  const found: string[] = [];
  let scanned = 0;
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(`DECLARE lethe_replay NO SCROLL CURSOR FOR SELECT ${cols.join(", ")} FROM ${qualified(store.schema, table)}`);
    for (;;) {
      const res = await client.query<Record<string, string | null>>(`FETCH ${batch} FROM lethe_replay`);
      if (res.rows.length === 0) break;
      scanned += res.rows.length;
      for (const row of res.rows) {
        const present = Object.fromEntries(Object.entries(row).filter((e): e is [string, string] => e[1] !== null));
        if (Object.values(identityHashes(hmacKey, present)).some((h) => ledger.has(h))) found.push(row.id!);
      }
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { scanned, found };
}
