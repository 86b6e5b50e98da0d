import { Pool, type ClientBase } from "pg";
import { qualified, quoteIdent } from "./ident";
import type { SchemaInfo } from "./introspect";
import { identityCandidates, identityColumns, type ReferenceColumn, type ReferenceSubject } from "./reference-columns";

/**
 * Finds columns that hold the subject's identity values without being linked: a bounded sample of
 * each text column's email-shaped values (at most {@link SAMPLE_ROWS} rows per table, a page
 * sample of big tables) is compared INSIDE Postgres with the subject table's identity and contact
 * columns, normalised (`lower(btrim(…))`) and as stored. Only yes/no leaves the database: no value
 * is returned, logged or kept. One read-only transaction with a statement timeout.
 */

/** Rows sampled per table. */
export const SAMPLE_ROWS = 1000;
/** Statement timeout of each sample query. (Default: 10 s.) */
export const SAMPLE_TIMEOUT_MS = 10_000;

type Queryable = Pick<ClientBase | Pool, "query">;

/** What sampling found: overlapping columns, and columns it could not decide (timeout, error) — fail closed. */
export interface OverlapResult {
  found: ReferenceColumn[];
  undecided: Array<{ table: string; column: string; reason: string }>;
}

/** Estimated rows of a table and its partitions (planner statistics; 0 when never analyzed). */
async function estimatedRows(db: Queryable, schemaName: string, tables: string[]): Promise<number> {
  const res = await db.query<{ n: string | null }>(
    `SELECT sum(greatest(c.reltuples, 0))::text AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
      WHERE ns.nspname = $1 AND c.relname = ANY($2::text[])`,
    [schemaName, tables],
  );
  return Number(res.rows[0]?.n ?? 0);
}

/**
 * Samples every candidate column of the store (`skip` leaves out declared links and dismissed
 * columns) and returns those whose email-shaped values overlap the subject's identities. `db` is
 * a connection (a transaction is opened on it) or a pool (one of its connections is used).
 */
export async function sampleIdentityOverlaps(
  db: Queryable,
  schema: SchemaInfo,
  subject: ReferenceSubject,
  skip: (table: string, column: string) => boolean,
  opts: { sampleRows?: number; timeoutMs?: number } = {},
): Promise<OverlapResult> {
  if (!(db instanceof Pool)) return sampleOn(db, schema, subject, skip, opts);
  const client = await db.connect();
  try {
    return await sampleOn(client, schema, subject, skip, opts);
  } finally {
    client.release();
  }
}

async function sampleOn(
  db: Queryable,
  schema: SchemaInfo,
  subject: ReferenceSubject,
  skip: (table: string, column: string) => boolean,
  opts: { sampleRows?: number; timeoutMs?: number } = {},
): Promise<OverlapResult> {
  const result: OverlapResult = { found: [], undecided: [] };
  const identities = identityColumns(schema, subject);
  if (identities.length === 0) return result;
  const byTable = new Map<string, string[]>();
  for (const c of identityCandidates(schema, subject)) {
    if (skip(c.table, c.column)) continue;
    byTable.set(c.table, [...(byTable.get(c.table) ?? []), c.column]);
  }
  if (byTable.size === 0) return result;
  const sampleRows = opts.sampleRows ?? SAMPLE_ROWS;
  const subjectRef = qualified(schema.schema, subject.table);
  await db.query("BEGIN READ ONLY");
  try {
    await db.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(opts.timeoutMs ?? SAMPLE_TIMEOUT_MS))}`);
    for (const [table, columns] of byTable) {
      const info = schema.tables.get(table)!;
      const rows = await estimatedRows(db, schema.schema, [table, ...info.children]);
      const pct = rows <= 4 * sampleRows ? null : Math.min(100, (100 * 4 * sampleRows) / rows);
      const sample = `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::text AS c${i}`).join(", ")} FROM ${qualified(schema.schema, table)}${
        pct === null ? "" : ` TABLESAMPLE SYSTEM (${pct.toFixed(6)}) REPEATABLE (7)`
      } LIMIT ${sampleRows}`;
      await db.query("SAVEPOINT lethe_sample");
      try {
        // First which columns hold email-shaped values at all (cheap), then only those are compared.
        const shaped = await db.query<Record<string, boolean | null>>(
          `WITH s AS MATERIALIZED (${sample}) SELECT ${columns.map((_, i) => `bool_or(s.c${i} LIKE '%@%') AS e${i}`).join(", ")} FROM s`,
        );
        const emailish = columns.map((_, i) => i).filter((i) => shaped.rows[0]?.[`e${i}`] === true);
        if (emailish.length > 0) {
          const tests = emailish.flatMap((i) =>
            identities.map((id, j) => {
              const col = `st.${quoteIdent(id.column)}::text`;
              return `(EXISTS (SELECT 1 FROM s JOIN ${subjectRef} AS st ON ${col} = s.c${i} WHERE s.c${i} LIKE '%@%')
                 OR EXISTS (SELECT 1 FROM s JOIN ${subjectRef} AS st ON lower(btrim(${col})) = lower(btrim(s.c${i})) WHERE s.c${i} LIKE '%@%')) AS t${i}_${j}`;
            }),
          );
          const res = await db.query<Record<string, boolean>>(`WITH s AS MATERIALIZED (${sample}) SELECT ${tests.join(", ")}`);
          const row = res.rows[0] ?? {};
          for (const i of emailish) {
            const hit = identities.findIndex((_, j) => row[`t${i}_${j}`] === true);
            if (hit < 0) continue;
            const id = identities[hit]!;
            result.found.push({ table, column: columns[i]!, references: { table: subject.table, column: id.column }, by: "values", identity: id.name });
          }
        }
        await db.query("RELEASE SAVEPOINT lethe_sample");
      } catch (err) {
        await db.query("ROLLBACK TO SAVEPOINT lethe_sample");
        const code = (err as { code?: unknown }).code;
        const reason = code === "57014" ? "the sample query timed out" : `the sample query failed (${typeof code === "string" ? code : "no error code"})`;
        for (const column of columns) result.undecided.push({ table, column, reason });
      }
    }
    await db.query("COMMIT");
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return result;
}
