import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import type { SubjectRequest } from "../../src/db/entities/subject-request";
import { createLogger, type Logger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import type { RequestView } from "../../src/requests/view";
import type { RequestStatus } from "../../src/types";
import { startWorker, type WorkerHandle, type WorkerOptions } from "../../workers/worker";
import { deletePrefixKeys, newQueuePrefix, prefixKeys } from "../../support/queue-prefix";
import { spawnTs, stopChild, type TsChild } from "./child-process";
import { TEST_KEYS, testConfig } from "./config";
import type { MapFile, RawDataMap } from "./data-maps";
import { createScratchDb, migratedLetheDb, type ScratchDb } from "./db";
import { trackHandle } from "./open-handles";
import { submitErasure, waitForRequestStatus } from "./requests";

/**
 * One test's Lethe: its own databases (Lethe's, migrated, and the application's), queue prefix,
 * keys and data map, plus the workers and child processes it started, all undone by `cleanup`.
 */

/** How {@link createHarness} sets a test up. */
export interface HarnessOptions {
  /** Data map file (JSON) and the environment variable its store URL names. */
  map: MapFile;
  /** Fills the application's scratch database (schema and rows) before anything else runs. */
  prepare?: (appUrl: string) => Promise<void>;
  /** Edits the raw data map before it is validated (e.g. adds an identity). */
  editMap?: (raw: RawDataMap) => void;
  /** Logger of the in-process workers and of `submit` (Default: silent). */
  logger?: Logger;
  /** Extra configuration variables (e.g. `LETHE_RECONCILE_EVERY_MS`). */
  env?: Record<string, string>;
}

/** One test's Lethe (see the module comment). */
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

/** The configuration variables of one test: fresh keys, a random queue prefix, the Lethe database. */
export function testEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read;legal:${TEST_KEYS.holds}:holds.write|requests.read`,
    LETHE_QUEUE_PREFIX: newQueuePrefix("lt"),
    LETHE_WORKER_CONCURRENCY: "2",
    LETHE_BACKOFF_MS: "100",
    LETHE_RECONCILE_EVERY_MS: "1000",
    LETHE_SHUTDOWN_TIMEOUT_MS: "5000",
    // Tests run the leftover audit themselves, never on the daily schedule.
    LETHE_LEFTOVER_AUDIT_CRON: "off",
    LOG_LEVEL: "silent",
    ...extra,
  };
}

/**
 * Starts Lethe's workers in this process; the leak guard fails the test file if the handle is
 * not closed. Closing twice closes once.
 */
export async function startTrackedWorker(config: Config, opts: WorkerOptions): Promise<WorkerHandle> {
  const started = await startWorker(config, opts);
  const forget = trackHandle("worker", `on queues ${(opts.queues ?? ["all"]).join(",")} (prefix ${config.queuePrefix})`);
  let closing: Promise<void> | undefined;
  return {
    ...started,
    close: () =>
      (closing ??= started.close().then(() => {
        forget();
      })),
  };
}

/** Builds one test's Lethe. Always pair with `cleanup()` in `afterAll`/`afterEach`. */
export async function createHarness(options: HarnessOptions): Promise<LetheHarness> {
  const { db: letheDb, ds } = await migratedLetheDb();
  const appDb = await createScratchDb("lethe_app");
  const children: TsChild[] = [];
  const handles: WorkerHandle[] = [];
  let redis: Redis | undefined;
  let queues: Queue[] = [];
  // An edited map is written to a file of its own, so child processes (`lethe …`) run the same map
  // as the in-process workers (one map per deployment: a different one fails with map_mismatch).
  const mapDir = options.editMap ? mkdtempSync(join(tmpdir(), "lethe-map-")) : null;
  const mapPath = mapDir ? join(mapDir, "lethe.config.json") : options.map.path;
  const env = { ...testEnv(letheDb.url, options.env), LETHE_DATA_MAP: mapPath, [options.map.urlVar]: appDb.url };
  const config = testConfig(env);
  const forget = trackHandle("harness", `(Lethe database ${letheDb.name}, prefix ${config.queuePrefix})`);

  const cleanup = async (): Promise<void> => {
    for (const c of children) await stopChild(c);
    for (const h of handles) await h.close();
    for (const q of queues) await q.close().catch(() => undefined);
    if (redis) {
      await deletePrefixKeys(redis, config.queuePrefix).catch(() => undefined);
      await redis.quit().catch(() => redis!.disconnect());
    }
    if (ds.isInitialized) await ds.destroy();
    await appDb.drop();
    await letheDb.drop();
    if (mapDir) rmSync(mapDir, { recursive: true, force: true });
    forget();
  };

  try {
    if (options.prepare) await options.prepare(appDb.url);
    const raw = JSON.parse(readFileSync(options.map.path, "utf8")) as RawDataMap;
    options.editMap?.(raw);
    if (mapDir) writeFileSync(mapPath, JSON.stringify(raw));
    const dataMap = parseDataMap(raw, mapPath, env);
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
      submit: (subject, opts = {}) => submitErasure({ ds, config, dataMap, erasureQueue, logger }, subject, opts),
      async startWorker(opts = {}) {
        const handle = await startTrackedWorker(config, { queues: ["erasure", "maintenance"], ...opts, dataMap, logger });
        handles.push(handle);
        return handle;
      },
      spawn(file, args = [], extra = {}) {
        const child = spawnTs(file, args, { ...env, ...extra });
        children.push(child);
        return child;
      },
      waitForStatus: (id, statuses, timeoutMs) => waitForRequestStatus(ds, id, statuses, timeoutMs),
      prefixKeys: () => prefixKeys(r, config.queuePrefix),
      deletePrefixKeys: () => deletePrefixKeys(r, config.queuePrefix),
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
