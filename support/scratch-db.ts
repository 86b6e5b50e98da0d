import { randomBytes } from "node:crypto";
import { Client } from "pg";

/**
 * Throw-away Postgres databases for the tests, the demo and the benchmarks. A scratch database
 * has a random name under a stem (`<stem>_<10 hex>`); this module creates and drops only names
 * of that shape, so it can never drop a database it did not make.
 */

/** The local Postgres server (a URL whose database part is ignored). */
export const DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432";

/** A database made for one run, dropped (with its connections) by `drop()`. */
export interface ScratchDb {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Options of {@link createScratchDb}. */
export interface ScratchDbOptions {
  /** The server, as a URL; only its host, port, user and password are used (Default: {@link DEFAULT_PG_SERVER}). */
  serverUrl?: string;
  /** Copy this database (`CREATE DATABASE … TEMPLATE`) instead of starting empty. */
  template?: string;
  /** The variable that names the server, for the message when it does not answer (e.g. `LETHE_DEMO_PG_URL`). */
  serverVar?: string;
}

const STEM = /^[a-z][a-z0-9_]{0,40}$/;
const SCRATCH_NAME = /^[a-z][a-z0-9_]{0,40}_[0-9a-f]{10}$/;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The URL of database `name` on the server `serverUrl` names. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` on a connection to the server's `postgres` database; names the server when it does not answer. */
async function onServer<T>(serverUrl: string, serverVar: string | undefined, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: databaseUrl(serverUrl, "postgres"), connectionTimeoutMillis: 5000 });
  try {
    await db.connect();
  } catch (err) {
    await db.end().catch(() => undefined);
    const host = new URL(serverUrl).host;
    throw new Error(`Postgres at ${host} does not answer; start it${serverVar ? ` or set ${serverVar}` : ""}`, { cause: err });
  }
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** Drops the scratch database `name` (a `<stem>_<hex>` name only), closing whatever is still connected to it. */
export async function dropScratchDb(name: string, opts: Pick<ScratchDbOptions, "serverUrl" | "serverVar"> = {}): Promise<void> {
  if (!SCRATCH_NAME.test(name)) throw new RangeError(`refusing to drop "${name}": not a scratch database name`);
  await onServer(opts.serverUrl ?? DEFAULT_PG_SERVER, opts.serverVar, (db) => db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/** Creates a database named `<stem>_<10 random hex>` (empty, or a copy of `template`). */
export async function createScratchDb(stem: string, opts: ScratchDbOptions = {}): Promise<ScratchDb> {
  if (!STEM.test(stem)) throw new RangeError(`a scratch database stem is lower-case letters, digits and _ (got "${stem}")`);
  const serverUrl = opts.serverUrl ?? DEFAULT_PG_SERVER;
  const name = `${stem}_${randomBytes(5).toString("hex")}`;
  const template = opts.template === undefined ? "" : ` TEMPLATE ${quoteIdent(opts.template)}`;
  await onServer(serverUrl, opts.serverVar, (db) => db.query(`CREATE DATABASE ${quoteIdent(name)}${template}`));
  return {
    name,
    url: databaseUrl(serverUrl, name),
    drop: () => dropScratchDb(name, { serverUrl, ...(opts.serverVar ? { serverVar: opts.serverVar } : {}) }),
  };
}
