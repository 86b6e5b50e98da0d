import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Client } from "pg";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import type { Config } from "../../src/config";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import { startApi, type ApiHandle } from "../../workers/api";
import type { WorkerHandle } from "../../workers/worker";
import { freePort } from "../../support/free-port";
import { TEST_KEYS } from "../helpers/config";
import type { TsChild } from "../helpers/child-process";
import { SHOP_MAP, type RawDataMap } from "../helpers/data-maps";
import { startFakeProcessor, type Behaviour, type FakeProcessor } from "../helpers/fake-processor";
import { createHarness, startTrackedWorker, type LetheHarness } from "../helpers/harness";
import { sortSteps, type ShopSubject, type StepLike } from "../helpers/shop";
import { waitFor } from "../helpers/wait";

/**
 * The multi-store world of issue #3: the demo shop (postgres, with support tickets anonymized
 * rather than deleted so every step action shows up), a redis store under a random key prefix,
 * a files store in a temp directory, and two processors (`crm` answering 200, `mailer` answering
 * 202 and calling back through the real API). The API is a real `startApi` on port 0 and the
 * workers are told its URL as LETHE_PUBLIC_URL.
 */

/** Signing secrets of the two processors (data map `${CRM_SECRET}`, `${MAILER_SECRET}`). */
export const CRM_SECRET = "crm-processor-secret-0123456789abc";
export const MAILER_SECRET = "mailer-processor-secret-9876543210";

/** The legal ground of the demo map's kept tables. */
export const TAX_GROUND = "Tax and accounting records: kept 10 years (e.g. HGB §257, AO §147)";

/** One subject with data in every store. */
export interface Subject {
  id: number;
  email: string;
  /** The full name the shop stores (`Marked <marker> Person`). */
  name: string;
  marker: string;
  /** Redis entries it owns: `key`, or `key#field` for a hash field. */
  redis: string[];
  /** Files it owns, relative to the files root. */
  files: string[];
}

/** Everything outside Postgres, as plain maps (entry → content), to diff before/after. */
export interface StoreState {
  redis: Map<string, string>;
  /** Files under the root. */
  files: Map<string, string>;
  /** Files next to the root (must never change). */
  outside: Map<string, string>;
  crm: string[];
  mailer: string[];
}

/** How {@link createMultiStore} sets up. */
export interface MultiStoreOptions {
  /** Synthetic customers of the shop besides the marked subjects. (Default: 30) */
  customers?: number;
  /** Extra configuration variables. */
  env?: Record<string, string>;
  crm?: Behaviour;
  /** (Default: 202, then a callback 150 ms later) */
  mailer?: Behaviour;
  /** The mailer's port is reserved but nothing listens until `mailer.listen()` (connection refused). */
  mailerDown?: boolean;
  /** Edits the raw data map (after the multi-store stores are added, before it is written). */
  editMap?: (raw: RawDataMap, ctx: { prefix: string }) => void;
  /** Extra webhook settings for both processors (e.g. `pollIntervalMs`). */
  webhook?: Record<string, unknown>;
}

/** A multi-store test world. */
export interface MultiStore {
  h: LetheHarness;
  api: ApiHandle;
  /** The harness config with `publicUrl` = the API's URL (what in-process workers run with). */
  config: Config;
  /** Random key prefix of this world's application Redis keys (`t<hex>`). */
  prefix: string;
  /** Temp directory: `root/` (the files store) and `outside/` (never touched). */
  base: string;
  root: string;
  crm: FakeProcessor;
  mailer: FakeProcessor;
  /** Seeds a marked customer in the shop and their keys, files and processor records. */
  addSubject(label: string): Promise<Subject>;
  /** Reads Redis (this world's prefix), the files and the processors' records. */
  state(): Promise<StoreState>;
  /** Starts the workers in this process (erasure + maintenance), with the API as public URL (Default data map: the harness's). */
  startWorker(dataMap?: DataMap): Promise<WorkerHandle>;
  /** Spawns `workers/worker.ts` as a child process and waits until it has started. */
  spawnWorker(env?: Record<string, string>): Promise<TsChild>;
  /** An authenticated call to the API over HTTP (as the application key unless `key` says otherwise). */
  http<T = unknown>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; json: T }>;
  cleanup(): Promise<void>;
}

const BASE_ENV_KEYS = ["CACHE_REDIS_URL", "FILES_ROOT", "CRM_URL", "CRM_SECRET", "MAILER_URL", "MAILER_SECRET"] as const;

/** Builds the world. Pair with `cleanup()`. */
export async function createMultiStore(opts: MultiStoreOptions = {}): Promise<MultiStore> {
  const prefix = `t${randomBytes(5).toString("hex")}`;
  const base = mkdtempSync(join(tmpdir(), "lethe-multi-"));
  const root = join(base, "root");
  mkdirSync(join(root, "avatars"), { recursive: true });
  mkdirSync(join(root, "uploads"), { recursive: true });
  mkdirSync(join(base, "outside"));
  writeFileSync(join(base, "outside", "keep.txt"), "not the application's");
  const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

  const crm = await startFakeProcessor({ name: "crm", secret: CRM_SECRET, ...(opts.crm ? { answer: opts.crm } : {}) });
  const mailerPort = opts.mailerDown ? await freePort() : 0;
  const mailer = await startFakeProcessor({
    name: "mailer",
    secret: MAILER_SECRET,
    answer: opts.mailer ?? (() => ({ status: 202, callBackAfterMs: 150 })),
    port: mailerPort,
    listen: !opts.mailerDown,
  });

  const raw = JSON.parse(readFileSync(SHOP_MAP.path, "utf8")) as RawDataMap & { stores: Record<string, Record<string, unknown>>; retention?: unknown };
  delete raw.retention;
  (raw.stores.shop!.tables as Record<string, Record<string, unknown>>).support_tickets!.action = "anonymize";
  raw.stores.cache = {
    kind: "redis",
    url: "${CACHE_REDIS_URL}",
    keys: [{ pattern: `${prefix}:session:{id}` }, { pattern: `${prefix}:cart:{id}:*` }, { pattern: `${prefix}:user:{email}` }],
    hashFields: [{ key: `${prefix}:profiles`, field: "{id}" }],
    purpose: "sessions, carts and profile cache",
  };
  raw.stores.uploads = { kind: "files", root: "${FILES_ROOT}", paths: ["avatars/{id}.*", "uploads/{id}/**"], purpose: "avatars and uploaded documents" };
  raw.stores.crm = { kind: "webhook", url: "${CRM_URL}", secret: "${CRM_SECRET}", identities: ["email"], ...opts.webhook };
  raw.stores.mailer = { kind: "webhook", url: "${MAILER_URL}", secret: "${MAILER_SECRET}", identities: ["email"], pollIntervalMs: 1000, ...opts.webhook };
  opts.editMap?.(raw, { prefix });
  const mapPath = join(base, "lethe.config.json");
  writeFileSync(mapPath, JSON.stringify(raw, null, 2));

  const storeEnv: Record<(typeof BASE_ENV_KEYS)[number], string> = {
    CACHE_REDIS_URL: redisUrl,
    FILES_ROOT: root,
    CRM_URL: crm.url,
    CRM_SECRET,
    MAILER_URL: mailer.url,
    MAILER_SECRET,
  };
  let h: LetheHarness | undefined;
  let api: ApiHandle | undefined;
  const handles: WorkerHandle[] = [];
  const cleanup = async (): Promise<void> => {
    for (const w of handles.splice(0)) await w.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await crm.close();
    await mailer.close();
    if (h) {
      for await (const keys of h.redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await h.redis.unlink(...keys);
      }
      await h.cleanup();
    }
    rmSync(base, { recursive: true, force: true });
  };

  try {
    const harness = await createHarness({
      map: { path: mapPath, urlVar: SHOP_MAP.urlVar },
      env: { LETHE_WORKER_CONCURRENCY: "4", ...storeEnv, ...opts.env },
      prepare: (url) => seedShop(url, { customers: opts.customers ?? 30 }).then(() => undefined),
    });
    h = harness;
    api = await startApi({ ...harness.config, host: "127.0.0.1", port: 0 }, { dataMap: harness.dataMap, logger: createLogger("silent"), handleSignals: false });
    const apiUrl = api.url;
    const config: Config = Object.freeze({ ...harness.config, publicUrl: apiUrl });
    const redis = harness.redis;

    const addSubject = async (label: string): Promise<Subject> => {
      const marker = `${label}-${randomBytes(3).toString("hex")}`;
      const id = await seedMarkedCustomer(harness.appDb.url, marker);
      const email = `${marker}@example.com`;
      const name = `Marked ${marker} Person`;
      const k = (s: string) => `${prefix}:${s}`;
      await redis.set(k(`session:${id}`), JSON.stringify({ user: email, csrf: randomBytes(4).toString("hex") }));
      await redis.hset(k(`cart:${id}:items`), "TEA-GREEN-100", "2");
      await redis.set(k(`cart:${id}:coupon`), `WELCOME-${marker}`);
      await redis.set(k(`user:${email}`), String(id));
      await redis.hset(k("profiles"), String(id), JSON.stringify({ name, email }));
      // Look-alikes that belong to nobody but match careless patterns.
      await redis.set(k(`session:${id}0`), "look-alike");
      await redis.set(k(`cart:${id}0:items`), "look-alike");
      await redis.set(k(`user:x${email}`), "look-alike");
      const files = [`avatars/${id}.png`, `avatars/${id}.jpg`, `uploads/${id}/invoice.pdf`, `uploads/${id}/docs/passport.png`];
      for (const f of [...files, `avatars/${id}0.png`, `uploads/${id}0/x.txt`]) {
        mkdirSync(dirname(join(root, f)), { recursive: true });
        writeFileSync(join(root, f), `${f} of ${name}`);
      }
      crm.records.add(email);
      mailer.records.add(email);
      return {
        id,
        email,
        name,
        marker,
        redis: [k(`session:${id}`), `${k(`cart:${id}:items`)}#TEA-GREEN-100`, k(`cart:${id}:coupon`), k(`user:${email}`), `${k("profiles")}#${id}`],
        files,
      };
    };

    const state = async (): Promise<StoreState> => {
      const entries = new Map<string, string>();
      for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === "hash") for (const [f, v] of Object.entries(await redis.hgetall(key))) entries.set(`${key}#${f}`, v);
          else if (type === "string") entries.set(key, (await redis.get(key)) ?? "");
          else entries.set(key, `<${type}>`);
        }
      }
      return {
        redis: new Map([...entries].sort(([a], [b]) => a.localeCompare(b))),
        files: readTree(root),
        outside: readTree(join(base, "outside")),
        crm: [...crm.records].sort(),
        mailer: [...mailer.records].sort(),
      };
    };

    return {
      h: harness,
      api,
      config,
      prefix,
      base,
      root,
      crm,
      mailer,
      addSubject,
      state,
      async startWorker(dataMap = harness.dataMap) {
        // Closing twice closes once (a second close would arm ioredis timers that keep jest alive).
        const handle = await startTrackedWorker(config, { queues: ["erasure", "maintenance"], dataMap, logger: harness.logger });
        handles.push(handle);
        return handle;
      },
      async spawnWorker(env = {}) {
        const child = harness.spawn("workers/worker.ts", [], { LETHE_PUBLIC_URL: apiUrl, LETHE_EXPORT_DIR: join(base, "exports"), LOG_LEVEL: "info", ...env });
        await waitFor(
          async () => {
            if (child.proc.exitCode !== null) throw new Error(`worker exited (${child.proc.exitCode}): ${child.stderr()}${child.stdout()}`);
            return child.stdout().includes('"worker started"') ? true : undefined;
          },
          "the worker child to start",
          30_000,
          50,
        );
        return child;
      },
      async http<T>(method: string, path: string, body?: unknown, key: string = TEST_KEYS.writer) {
        const res = await fetch(`${apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Every file under `dir` (relative path → content). */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** `before` without the subjects' own entries: what every store must hold after they are erased. */
export function withoutSubjects(before: StoreState, subjects: readonly Subject[]): StoreState {
  const redis = new Map(before.redis);
  const files = new Map(before.files);
  const emails = new Set(subjects.map((s) => s.email));
  for (const s of subjects) {
    for (const e of s.redis) if (!redis.delete(e)) throw new Error(`redis entry ${e} was not there before`);
    for (const f of s.files) if (!files.delete(f)) throw new Error(`file ${f} was not there before`);
  }
  return { redis, files, outside: before.outside, crm: before.crm.filter((e) => !emails.has(e)), mailer: before.mailer.filter((e) => !emails.has(e)) };
}

/** The steps a first erasure of `s` reports in every store, sorted by store, table and action. */
export function expectedSteps(s: ShopSubject, prefix: string, opts: { sharedAddress?: boolean } = {}): StepLike[] {
  const shop: StepLike[] = [
    { store: "shop", table: "customers", action: "delete", rows: 1 },
    ...(opts.sharedAddress
      ? [
          { store: "shop", table: "addresses", action: "delete", rows: 0 },
          { store: "shop", table: "addresses", action: "shared", rows: 1 },
        ]
      : [{ store: "shop", table: "addresses", action: "delete", rows: 1 }]),
    { store: "shop", table: "orders", action: "keep", rows: s.orders.length, ground: TAX_GROUND },
    { store: "shop", table: "order_items", action: "keep", rows: s.orderItems.length, ground: TAX_GROUND },
    { store: "shop", table: "reviews", action: "delete", rows: s.reviews.length },
    { store: "shop", table: "support_tickets", action: "anonymize", rows: s.tickets.length },
  ];
  return sortAllSteps([
    ...shop,
    { store: "cache", table: `${prefix}:session:{id}`, action: "delete", rows: 1 },
    { store: "cache", table: `${prefix}:cart:{id}:*`, action: "delete", rows: 2 },
    { store: "cache", table: `${prefix}:user:{email}`, action: "delete", rows: 1 },
    { store: "cache", table: `hash ${prefix}:profiles field {id}`, action: "delete", rows: 1 },
    { store: "uploads", table: "avatars/{id}.*", action: "delete", rows: 2 },
    { store: "uploads", table: "uploads/{id}/**", action: "delete", rows: 2 },
    { store: "crm", table: "processor", action: "notified", rows: 1 },
    { store: "mailer", table: "processor", action: "notified", rows: 1 },
  ]);
}

/** Steps sorted by store, then table and action. */
export function sortAllSteps<T extends StepLike>(steps: readonly T[]): T[] {
  const byStore = new Map<string, T[]>();
  for (const s of steps) byStore.set(s.store, [...(byStore.get(s.store) ?? []), s]);
  return [...byStore.keys()].sort().flatMap((store) => sortSteps(byStore.get(store)!));
}

/** Makes `other` live at `subject`'s address (a household), so the address is shared. */
export async function shareAddress(appUrl: string, subjectId: number, otherId: number): Promise<void> {
  const c = new Client({ connectionString: appUrl });
  await c.connect();
  try {
    await c.query(`UPDATE customers SET address_id = (SELECT address_id FROM customers WHERE id = $1) WHERE id = $2`, [subjectId, otherId]);
  } finally {
    await c.end();
  }
}

/** The steps recorded in `lethe.request_step` for a request, as rows with their ids (to see whether anything was redone). */
export async function stepRows(h: LetheHarness, requestId: string): Promise<Array<{ id: string; store: string; table: string; action: string; rows: number }>> {
  return (await h.ds.query(`SELECT id::text AS id, store, table_name AS table, action, rows FROM lethe.request_step WHERE request_id = $1 ORDER BY id`, [
    requestId,
  ])) as Array<{
    id: string;
    store: string;
    table: string;
    action: string;
    rows: number;
  }>;
}

/** Per-store status rows of a request. */
export async function storeRows(h: LetheHarness, requestId: string): Promise<Record<string, string>> {
  const rows = (await h.ds.query(`SELECT store, status FROM lethe.request_store WHERE request_id = $1`, [requestId])) as Array<{
    store: string;
    status: string;
  }>;
  return Object.fromEntries(rows.map((r) => [r.store, r.status]));
}
