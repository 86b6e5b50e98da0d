import { createHash } from "node:crypto";
import type { Pool } from "pg";

/** Anything the table owners run SQL on: a DataSource, an EntityManager (a transaction) or a QueryRunner (a session). */
export interface Sql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const statementNames = new Map<string, string>();

/** The pg pool behind a TypeORM DataSource, when `sql` is one (not a transaction's manager). */
function poolOf(sql: Sql): Pool | undefined {
  const ds = sql as { isInitialized?: boolean; driver?: { master?: Pool } };
  return ds.isInitialized === true ? ds.driver?.master : undefined;
}

/** True when `sql` is a DataSource (its pool), not a transaction's manager or a session. */
export function isPooled(sql: Sql): boolean {
  return poolOf(sql) !== undefined;
}

/**
 * Runs `text` and returns its rows. On a DataSource it runs as a named prepared statement
 * (named after the text's hash): each connection parses and plans it once, not for every call —
 * for the statements every request runs (planning some of them cost more than running them). In
 * a transaction (an EntityManager or a QueryRunner) it runs as given. `text` must be constant:
 * values travel only as `params`.
 */
export async function queryRows<T>(sql: Sql, text: string, params: unknown[]): Promise<T[]> {
  const pool = poolOf(sql);
  if (pool) {
    let name = statementNames.get(text);
    if (!name) statementNames.set(text, (name = `lethe_${createHash("sha256").update(text).digest("hex").slice(0, 20)}`));
    return (await pool.query({ name, text, values: params })).rows as T[];
  }
  const result = await sql.query(text, params);
  // TypeORM answers an UPDATE or DELETE (also inside a CTE) with [rows, count].
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as T[];
  return result as T[];
}
