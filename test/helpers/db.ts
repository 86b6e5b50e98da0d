import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";
import { createScratchDb as createScratch, DEFAULT_PG_SERVER, type ScratchDb } from "../../support/scratch-db";
import { trackHandle } from "./open-handles";

export type { ScratchDb } from "../../support/scratch-db";

/** Base URL of the machine's Postgres (override with TEST_PG_URL). */
export const PG_BASE = process.env.TEST_PG_URL ?? DEFAULT_PG_SERVER;

/**
 * Creates a database for one test file (`<prefix>_<hex>`, empty or a copy of `template`); the
 * leak guard fails the file if it is not dropped.
 */
export async function createScratchDb(prefix = "lethe_t", opts: { template?: string } = {}): Promise<ScratchDb> {
  const db = await createScratch(prefix, { serverUrl: PG_BASE, ...opts });
  const forget = trackHandle("scratch database", db.name);
  return {
    ...db,
    async drop() {
      await db.drop();
      forget();
    },
  };
}

/** Runs `fn` with a fresh connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Runs one query on a fresh connection to `url`. */
export async function queryRows<T extends Record<string, unknown> = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(sql, params)).rows);
}

/** Runs a multi-statement SQL text against `url`. */
export async function runSql(url: string, sql: string): Promise<void> {
  await withClient(url, async (c) => void (await c.query(sql)));
}

/** Loads the Chinook fixture (test/fixtures/chinook, MIT) into the database at `url`. */
export async function loadChinook(url: string): Promise<void> {
  const full = readFileSync(join(__dirname, "..", "fixtures", "chinook", "Chinook_PostgreSql.sql"), "utf8");
  const body = full.slice(full.indexOf("\\c chinook;") + "\\c chinook;".length);
  await runSql(url, body);
}

/** A scratch database with Lethe's migrations applied, and its DataSource (initialized; the leak guard wants it destroyed). */
export async function migratedLetheDb(): Promise<{ db: ScratchDb; ds: DataSource }> {
  const db = await createScratchDb("lethe_own");
  const ds = createDataSource(db.url, { poolSize: 4 });
  trackHandle("DataSource on", db.name, () => ds.isInitialized);
  await ds.initialize();
  await ds.runMigrations();
  return { db, ds };
}
