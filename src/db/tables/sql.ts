import { createHash } from "node:crypto";
import { Pool } from "pg";

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

const genericPools = new WeakMap<Pool, Pool>();

/**
 * A second, smaller pool beside a DataSource's, whose sessions plan prepared statements once
 * (`plan_cache_mode = force_generic_plan`). Postgres otherwise keeps planning a prepared statement
 * for every call when its generic plan looks costlier than the custom ones — always so for
 * `= ANY($1::uuid[])` — and for the request path's statements planning cost 0.25-0.3 ms a call,
 * about as much as running them (`pg_stat_statements`, `bench:erasure`). Only the statements
 * {@link queryRows} sends run here: constant texts keyed by primary keys, whose plan does not
 * depend on the values. It closes with the DataSource's pool.
 *
 * A plan made once lives as long as the session, and the tables it reads grow meanwhile: made
 * while `request_step` held a few hundred rows, the plan of the store record scanned the whole
 * table on every call — 58 ms a call at 90,000 rows. So these sessions also set
 * `enable_seqscan = off`, and each statement names its keys as `= ANY (ARRAY(SELECT … FROM v))`
 * where it joins a batch `v`, so the plan finds its rows through an index condition whatever the
 * table's size when it was made (`test/db/generic-plans.test.ts` counts the rows they read).
 */
function genericPoolOf(master: Pool): Pool {
  let pool = genericPools.get(master);
  if (!pool) {
    const options = (master as unknown as { options: ConstructorParameters<typeof Pool>[0] & { max?: number } }).options;
    const generic = new Pool({
      ...options,
      max: Math.max(2, Math.ceil((options.max ?? 10) / 2)),
      options: "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off",
    });
    generic.on("error", () => undefined);
    generic.on("connect", (client) => client.on("error", () => undefined));
    const end = master.end.bind(master) as (cb?: (err?: Error) => void) => unknown;
    (master as unknown as { end: typeof end }).end = (cb) => {
      void generic.end().catch(() => undefined);
      return end(cb);
    };
    genericPools.set(master, (pool = generic));
  }
  return pool;
}

/**
 * Runs `text` and returns its rows. On a DataSource it runs as a named prepared statement
 * (named after the text's hash) on the DataSource's generic-plan pool ({@link genericPoolOf}):
 * each connection parses and plans it once, not for every call — for the statements every
 * request runs. In a transaction (an EntityManager or a QueryRunner) it runs as given. `text`
 * must be constant: values travel only as `params`.
 */
export async function queryRows<T>(sql: Sql, text: string, params: unknown[]): Promise<T[]> {
  const master = poolOf(sql);
  const pool = master && genericPoolOf(master);
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
