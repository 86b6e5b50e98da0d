import type { Pool, PoolClient } from "pg";
import type { LeftoverFinding, LeftoverScanOptions, LeftoverScanResult } from "../store-kind";
import { qualified, quoteIdent } from "./ident";
import type { SchemaInfo } from "./introspect";

/**
 * The leftover audit's walk over one postgres store: every text-like column of every table of the
 * mapped schema (declared or not; a partitioned table through its parent, so every partition),
 * read with a server-side cursor in a read-only transaction per table, each FETCH under a
 * statement timeout, batch by batch (memory: one batch). Each value goes to `matches` (the
 * caller's keyed-hash test) and is dropped; what comes back is table, column and count only.
 */

/** Values longer than this are free text, not a copied identity; they are skipped. */
export const MAX_VALUE_LENGTH = 512;

/** Columns the audit reads: text-like ones (text, varchar, char, citext, …). */
function textColumns(schema: SchemaInfo): Array<{ table: string; columns: string[] }> {
  const out: Array<{ table: string; columns: string[] }> = [];
  for (const t of [...schema.tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const columns = [...t.columns.values()].filter((c) => c.family === "text").map((c) => c.name);
    if (columns.length > 0) out.push({ table: t.name, columns });
  }
  return out;
}

async function scanTable(
  client: PoolClient,
  schemaName: string,
  table: string,
  columns: string[],
  opts: LeftoverScanOptions,
  found: Map<string, number>,
): Promise<number> {
  let rows = 0;
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(opts.statementTimeoutMs))}`);
    const list = columns.map((c, i) => `${quoteIdent(c)}::text AS c${i}`).join(", ");
    await client.query(`DECLARE lethe_leftovers NO SCROLL CURSOR FOR SELECT ${list} FROM ${qualified(schemaName, table)}`);
    for (;;) {
      opts.signal?.throwIfAborted();
      const res = await client.query<string[]>({ text: `FETCH ${Math.max(1, Math.trunc(opts.batchSize))} FROM lethe_leftovers`, rowMode: "array" });
      if (res.rows.length === 0) break;
      rows += res.rows.length;
      for (const row of res.rows) {
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          if (v === null || v === undefined || v.length === 0 || v.length > MAX_VALUE_LENGTH) continue;
          if (opts.matches(v)) found.set(columns[i]!, (found.get(columns[i]!) ?? 0) + 1);
        }
      }
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return rows;
}

/** Scans the store (see the module comment). */
export async function scanLeftovers(pool: Pool, schema: SchemaInfo, store: string, opts: LeftoverScanOptions): Promise<LeftoverScanResult> {
  const findings: LeftoverFinding[] = [];
  let rows = 0;
  let values = 0;
  const client = await pool.connect();
  try {
    for (const { table, columns } of textColumns(schema)) {
      const found = new Map<string, number>();
      const n = await scanTable(client, schema.schema, table, columns, opts, found);
      rows += n;
      values += n * columns.length;
      for (const [column, count] of found) findings.push({ store, table, column, count });
    }
  } finally {
    client.release();
  }
  return { findings, rows, values };
}
