import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";

/** Base URL of the machine's Postgres (override with TEST_PG_URL). */
export const PG_BASE = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

/** A database made for one test file, dropped by `drop()`. */
export interface ScratchDb {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a random name (`<prefix>_<hex>`). */
export async function createScratchDb(prefix = "lethe_t"): Promise<ScratchDb> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = new Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `${PG_BASE}/${name}`,
    async drop() {
      const c = new Client({ connectionString: `${PG_BASE}/postgres` });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs a multi-statement SQL text against `url`. */
export async function runSql(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Loads the Chinook fixture (test/fixtures/chinook, MIT) into the database at `url`. */
export async function loadChinook(url: string): Promise<void> {
  const full = readFileSync(join(__dirname, "..", "fixtures", "chinook", "Chinook_PostgreSql.sql"), "utf8");
  const body = full.slice(full.indexOf("\\c chinook;") + "\\c chinook;".length);
  await runSql(url, body);
}

/** A scratch database with Lethe's migrations applied, and its DataSource (initialized). */
export async function migratedLetheDb(): Promise<{ db: ScratchDb; ds: DataSource }> {
  const db = await createScratchDb("lethe_own");
  const ds = createDataSource(db.url, { poolSize: 4 });
  await ds.initialize();
  await ds.runMigrations();
  return { db, ds };
}
