import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import type { SubjectRequest } from "../../src/db/entities/subject-request";
import { createLogger, type Logger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import { getRequestView, submitRequest } from "../../src/requests/service";
import type { RequestView } from "../../src/requests/view";
import type { RequestStatus } from "../../src/types";
import { startWorker, type WorkerHandle, type WorkerOptions } from "../../workers/worker";
import { TEST_KEYS, testConfig } from "./config";
import { createScratchDb, migratedLetheDb, type ScratchDb } from "./db";

/** Root of the repository (child processes run from here). */
export const REPO_ROOT = resolve(__dirname, "..", "..");

/** The demo shop's data map and the variable its store URL comes from. */
export const SHOP_MAP = { path: join(REPO_ROOT, "demo", "lethe.config.json"), urlVar: "SHOP_DATABASE_URL" } as const;

/** The Chinook fixture's data map and the variable its store URL comes from. */
export const CHINOOK_MAP = { path: join(REPO_ROOT, "test", "fixtures", "chinook", "lethe.config.json"), urlVar: "CHINOOK_DATABASE_URL" } as const;

/** A data map as read from its JSON file, before validation. */
export type RawDataMap = Record<string, unknown> & { subject: { identities: Record<string, string> } };

/** How {@link createHarness} sets a test up. */
export interface HarnessOptions {
  /** Data map file (JSON) and the environment variable its store URL names. */
  map: { path: string; urlVar: string };
  /** Fills the application's scratch database (schema and rows) before anything else runs. */
  prepare?: (appUrl: string) => Promise<void>;
  /** Edits the raw data map before it is validated (e.g. adds an identity). */
  editMap?: (raw: RawDataMap) => void;
  /** Logger of the in-process workers and of `submit` (Default: silent). */
  logger?: Logger;
  /** Extra configuration variables (e.g. `LETHE_RECONCILE_EVERY_MS`). */
  env?: Record<string, string>;
}

/** A child process running a TypeScript entrypoint of the repository. */
export interface TsChild {
  proc: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** One test's Lethe: its own databases, queue prefix, keys, data map, and what it started. */
export interface LetheHarness {
  letheDb: ScratchDb;
  appDb: ScratchDb;
  /** DataSource on the Lethe database, owned by the harness. */
  ds: DataSource;
  /** Every variable a `lethe` child process needs (config, store URL, data map path). */
  env: Record<string, string>;
  config: Config;
  dataMap: DataMap;
  logger: Logger;
  redis: Redis;
  erasureQueue: Queue;
  maintenanceQueue: Queue;
  /** Submits an erasure request (or its preview) as `requestedBy: "test"`. */
  submit(subject: Record<string, string>, opts?: { dryRun?: boolean; idempotencyKey?: string }): Promise<{ request: SubjectRequest; created: boolean }>;
  /**
   * Starts the workers in-process (closed by `cleanup`). Runs the erasure and maintenance queues
   * unless `queues` says otherwise, so no retention sweep can change the store under a test.
   */
  startWorker(opts?: Omit<WorkerOptions, "dataMap" | "logger">): Promise<WorkerHandle>;
  /** Spawns `node --import tsx <file> ...args` with the harness's env plus `env` (killed by `cleanup`). */
  spawn(file: string, args?: string[], env?: Record<string, string>): TsChild;
  /** Polls the request until its status is one of `statuses`; throws with the last view on timeout. */
  waitForStatus(id: string, statuses: RequestStatus[], timeoutMs?: number): Promise<RequestView>;
  /** Every Redis key under the test's prefix. */
  prefixKeys(): Promise<string[]>;
  /** Deletes every Redis key under the test's prefix (the test's own "FLUSHALL"); returns how many. */
  deletePrefixKeys(): Promise<number>;
  /** Closes workers, children, queues, Redis and the DataSource, deletes the prefix's keys, drops both databases. */
  cleanup(): Promise<void>;
}

/** Polls `fn` until it returns a value other than undefined; throws `what` on timeout. */
export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The environment a child process inherits: PATH and HOME only, so no stray LETHE_* leaks in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR"]) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

/** Spawns `node --import tsx <file> ...args` from the repository root with exactly `env` (plus PATH/HOME). */
export function spawnTs(file: string, args: string[], env: Record<string, string>): TsChild {
  const proc = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once("close", (code, signal) => res({ code, signal })));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Runs a TypeScript entrypoint to its end; kills it after `timeoutMs`. */
export async function runTs(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTs(file, args, env);
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** The configuration variables of one test: fresh keys, a random queue prefix, the Lethe database. */
export function testEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read`,
    LETHE_QUEUE_PREFIX: `lt${randomBytes(4).toString("hex")}`,
    LETHE_WORKER_CONCURRENCY: "2",
    LETHE_BACKOFF_MS: "100",
    LETHE_RECONCILE_EVERY_MS: "1000",
    LETHE_SHUTDOWN_TIMEOUT_MS: "5000",
    LOG_LEVEL: "silent",
    ...extra,
  };
}

/** Deletes every key matching `<prefix>:*` (SCAN + DEL); returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let n = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) n += await redis.del(...keys);
  } while (cursor !== "0");
  return n;
}

/** Every key matching `<prefix>:*`. */
export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return [...new Set(out)].sort();
}

/** Builds one test's Lethe. Always pair with `cleanup()` in `afterAll`/`afterEach`. */
export async function createHarness(options: HarnessOptions): Promise<LetheHarness> {
  const { db: letheDb, ds } = await migratedLetheDb();
  const appDb = await createScratchDb("lethe_app");
  const children: TsChild[] = [];
  const handles: WorkerHandle[] = [];
  let redis: Redis | undefined;
  let queues: Queue[] = [];
  const env = { ...testEnv(letheDb.url, options.env), LETHE_DATA_MAP: options.map.path, [options.map.urlVar]: appDb.url };
  const config = testConfig(env);

  const cleanup = async (): Promise<void> => {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
      await c.exited;
    }
    for (const h of handles) await h.close();
    for (const q of queues) await q.close().catch(() => undefined);
    if (redis) {
      await deleteKeys(redis, config.queuePrefix).catch(() => undefined);
      await redis.quit().catch(() => redis!.disconnect());
    }
    if (ds.isInitialized) await ds.destroy();
    await appDb.drop();
    await letheDb.drop();
  };

  try {
    if (options.prepare) await options.prepare(appDb.url);
    const raw = JSON.parse(readFileSync(options.map.path, "utf8")) as RawDataMap;
    options.editMap?.(raw);
    const dataMap = parseDataMap(raw, options.map.path, env);
    const logger = options.logger ?? createLogger("silent");
    redis = createRedis(config.redisUrl, "worker");
    const erasureQueue = new Queue(QUEUES.erasure, { connection: redis, prefix: config.queuePrefix });
    const maintenanceQueue = new Queue(QUEUES.maintenance, { connection: redis, prefix: config.queuePrefix });
    queues = [erasureQueue, maintenanceQueue];
    const r = redis;

    return {
      letheDb,
      appDb,
      ds,
      env,
      config,
      dataMap,
      logger,
      redis: r,
      erasureQueue,
      maintenanceQueue,
      submit: (subject, opts = {}) =>
        submitRequest(
          { ds, config, dataMap, queues: { erasure: erasureQueue }, logger },
          {
            type: "erasure",
            subject,
            requestedBy: "test",
            ...(opts.dryRun ? { dryRun: true } : {}),
            ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
          },
        ),
      async startWorker(opts = {}) {
        const handle = await startWorker(config, { queues: ["erasure", "maintenance"], ...opts, dataMap, logger });
        handles.push(handle);
        return handle;
      },
      spawn(file, args = [], extra = {}) {
        const child = spawnTs(file, args, { ...env, ...extra });
        children.push(child);
        return child;
      },
      async waitForStatus(id, statuses, timeoutMs = 30_000) {
        let last: RequestView | null = null;
        try {
          return await waitFor(
            async () => {
              last = await getRequestView(ds, id);
              return last && statuses.includes(last.status) ? last : undefined;
            },
            `request ${id} to be ${statuses.join("/")}`,
            timeoutMs,
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last)}`, { cause: err });
        }
      },
      prefixKeys: () => scanKeys(r, config.queuePrefix),
      deletePrefixKeys: () => deleteKeys(r, config.queuePrefix),
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Table → (primary key → checksum). */
export type Checksums = Map<string, Map<string, string>>;

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The tables of schema `public` and their primary-key columns (empty when a table has none). */
async function publicTables(c: Client): Promise<Array<{ table: string; pk: string[] }>> {
  const res = await c.query<{ table: string; pk: string[] | null }>(
    `SELECT t.relname AS table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = t.oid AND i.indisprimary) AS pk
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p')
      ORDER BY t.relname`,
  );
  return res.rows.map((r) => ({ table: r.table, pk: r.pk ?? [] }));
}

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** SQL of a row's key as text: the primary key value (a JSON array when composite). */
function keySql(pk: string[]): string {
  if (pk.length === 1) return `t.${ident(pk[0]!)}::text`;
  if (pk.length > 1) return `json_build_array(${pk.map((c) => `t.${ident(c)}::text`).join(", ")})::text`;
  return `'md5:' || md5(row_to_json(t)::text)`;
}

/**
 * For every table of schema `public`: primary key → `md5(row_to_json(row)::text)`. A table
 * without a primary key is keyed by the row's own checksum (`md5:<hash>#<n>`), so a changed row
 * shows as one removed and one added.
 */
export async function rowChecksums(url: string): Promise<Checksums> {
  return withClient(url, async (c) => {
    const out: Checksums = new Map();
    for (const { table, pk } of await publicTables(c)) {
      const res = await c.query<{ k: string; h: string }>(`SELECT ${keySql(pk)} AS k, md5(row_to_json(t)::text) AS h FROM public.${ident(table)} t`);
      const rows = new Map<string, string>();
      for (const r of res.rows) {
        let k = r.k;
        if (pk.length === 0) for (let n = 0; rows.has((k = `${r.k}#${n}`)); n++);
        rows.set(k, r.h);
      }
      out.set(table, rows);
    }
    return out;
  });
}

/** What differs between two {@link rowChecksums}, as sorted `table:key` lists. */
export interface ChecksumDiff {
  removed: string[];
  changed: string[];
  added: string[];
}

/** Compares two checksum maps row by row. */
export function diffChecksums(before: Checksums, after: Checksums): ChecksumDiff {
  const diff: ChecksumDiff = { removed: [], changed: [], added: [] };
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(table) ?? new Map<string, string>();
    const a = after.get(table) ?? new Map<string, string>();
    for (const [k, h] of b) {
      if (!a.has(k)) diff.removed.push(`${table}:${k}`);
      else if (a.get(k) !== h) diff.changed.push(`${table}:${k}`);
    }
    for (const k of a.keys()) if (!b.has(k)) diff.added.push(`${table}:${k}`);
  }
  return { removed: sortKeys(diff.removed), changed: sortKeys(diff.changed), added: sortKeys(diff.added) };
}

/** Every row (`table:key`) of schema `public` whose `row_to_json` text contains `needle` (JSON-escaped; exact, case-sensitive). */
export async function rowsContaining(url: string, needle: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const out: string[] = [];
    for (const { table, pk } of await publicTables(c)) {
      const res = await c.query<{ k: string }>(`SELECT ${keySql(pk)} AS k FROM public.${ident(table)} t WHERE strpos(row_to_json(t)::text, $1) > 0`, [
        JSON.stringify(needle).slice(1, -1),
      ]);
      out.push(...res.rows.map((r) => `${table}:${r.k}`));
    }
    return out.sort();
  });
}

/** Runs one query on a fresh connection to `url`. */
export async function queryRows<T extends Record<string, unknown> = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(sql, params)).rows);
}

/** Sorts `table:key` strings as {@link diffChecksums} does. */
export function sortKeys(keys: string[]): string[] {
  return [...keys].sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
}

/** A step as a view shows it. */
export interface StepLike {
  store: string;
  table: string;
  action: string;
  rows: number;
  ground?: string;
}

/** Steps sorted by table then action, so receipts compare regardless of plan order. */
export function sortSteps<T extends StepLike>(steps: readonly T[]): T[] {
  return [...steps].sort((a, b) => `${a.table}/${a.action}`.localeCompare(`${b.table}/${b.action}`));
}

/** One demo-shop customer's rows, read before anything is erased. */
export interface ShopSubject {
  id: number;
  email: string;
  addressId: number;
  orders: number[];
  orderItems: number[];
  reviews: number[];
  tickets: number[];
}

/** Reads a demo-shop customer's rows (the customer must have an address of their own, as `seedMarkedCustomer` gives). */
export async function shopSubject(url: string, id: number): Promise<ShopSubject> {
  return withClient(url, async (c) => {
    const customer = (await c.query<{ email: string; address_id: number }>(`SELECT email, address_id FROM customers WHERE id = $1`, [id])).rows[0];
    if (!customer) throw new Error(`no customer ${id}`);
    const ids = async (sql: string, p: unknown) => (await c.query<{ id: number }>(sql, [p])).rows.map((r) => r.id).sort((a, b) => a - b);
    return {
      id,
      email: customer.email,
      addressId: customer.address_id,
      orders: await ids(`SELECT id FROM orders WHERE customer_id = $1`, id),
      orderItems: await ids(`SELECT oi.id FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE o.customer_id = $1`, id),
      reviews: await ids(`SELECT id FROM reviews WHERE customer_id = $1`, id),
      tickets: await ids(`SELECT id FROM support_tickets WHERE customer_email = $1`, customer.email),
    };
  });
}

/** The steps a first erasure (or preview) of `s` must report with the demo data map, sorted. */
export function shopSteps(s: ShopSubject, dataMap: DataMap): StepLike[] {
  const store = dataMap.stores.shop;
  const ground = (table: string): string => {
    const t = store?.kind === "postgres" ? store.tables[table] : undefined;
    return t?.action === "keep" ? (t.ground ?? "") : "";
  };
  return sortSteps([
    { store: "shop", table: "customers", action: "delete", rows: 1 },
    { store: "shop", table: "addresses", action: "delete", rows: 1 },
    { store: "shop", table: "orders", action: "keep", rows: s.orders.length, ground: ground("orders") },
    { store: "shop", table: "order_items", action: "keep", rows: s.orderItems.length, ground: ground("order_items") },
    { store: "shop", table: "reviews", action: "delete", rows: s.reviews.length },
    { store: "shop", table: "support_tickets", action: "delete", rows: s.tickets.length },
  ]);
}

/** What a completed erasure of `s` does to the shop, as {@link diffChecksums} reports it. */
export function shopErasureDiff(s: ShopSubject): ChecksumDiff {
  return {
    removed: sortKeys([
      `customers:${s.id}`,
      `addresses:${s.addressId}`,
      ...s.reviews.map((r) => `reviews:${r}`),
      ...s.tickets.map((t) => `support_tickets:${t}`),
    ]),
    changed: sortKeys(s.orders.map((o) => `orders:${o}`)),
    added: [],
  };
}

/** An empty {@link ChecksumDiff}: nothing changed. */
export const NO_CHANGE: ChecksumDiff = Object.freeze({ removed: [], changed: [], added: [] }) as ChecksumDiff;
