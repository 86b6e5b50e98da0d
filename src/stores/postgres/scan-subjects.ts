import type { Pool } from "pg";
import type { DataMap } from "../../datamap/schema";
import { identitySpecs } from "../../subject/identity-match";
import { qualified, quoteIdent } from "./ident";
import type { PostgresStoreSpec } from "./schema";

/**
 * Walks the subject table with a server-side cursor (one read-only transaction) and hands each
 * batch of subjects' identities — `id` (the key) and every identity of the data map, as text,
 * absent when null — to `onBatch`. Memory: one batch of rows. `lethe replay` uses it to find
 * people a restored backup brought back.
 */
export async function scanSubjects(
  pool: Pool,
  spec: PostgresStoreSpec,
  dataMap: DataMap,
  onBatch: (subjects: Array<Record<string, string>>) => void,
  batch = 5000,
): Promise<{ scanned: number }> {
  const { table, key } = dataMap.subject;
  const cols = [`${quoteIdent(key)}::text AS id`, ...identitySpecs(dataMap.subject).map((i) => `${quoteIdent(i.column)}::text AS ${quoteIdent(i.name)}`)];
  const client = await pool.connect();
  let scanned = 0;
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(`DECLARE lethe_replay NO SCROLL CURSOR FOR SELECT ${cols.join(", ")} FROM ${qualified(spec.schema, table)}`);
    for (;;) {
      const res = await client.query<Record<string, string | null>>(`FETCH ${batch} FROM lethe_replay`);
      if (res.rows.length === 0) break;
      scanned += res.rows.length;
      onBatch(res.rows.map((row) => Object.fromEntries(Object.entries(row).filter((e): e is [string, string] => e[1] !== null))));
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { scanned };
}
