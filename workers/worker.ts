import { Worker, type WorkerOptions as BullWorkerOptions } from "bullmq";
import { handlersOf } from "../jobs";
import type { JobContext } from "../jobs/handler";
import { configOrExit } from "../src/cli/config-or-exit";
import type { Config } from "../src/config";
import { assertDataMapReady } from "../src/datamap/check";
import { fingerprintAtStart } from "../src/datamap/fingerprint";
import { loadDataMap } from "../src/datamap/load";
import type { DataMap } from "../src/datamap/schema";
import { assertMigrated, createDataSource } from "../src/db/data-source";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { EXPORT_TEMPLATE_VARS } from "../src/exports/send-export-mail";
import { onShutdownSignal, runMain } from "../src/lifecycle";
import { createLogger, type Logger } from "../src/logger";
import { loadTemplates } from "../src/mail/templates";
import { loadNoticeTemplates } from "../src/rights/notices";
import { createMailTransport, SMTP_POOL_SIZE } from "../src/mail/transport";
import { createQueueConnection, type QueueConnection } from "../src/queues/connection";
import { initializeAtStart } from "../src/db/connect-at-start";
import { startHeartbeat } from "../src/heartbeat";
import { waitForRedisAtStart } from "../src/queues/wait-at-start";
import { limiterFor } from "../src/queues/limiter";
import { QUEUES, type QueueName } from "../src/queues/names";
import { openServices, type OpenServices, type Services } from "../src/services";
import { keepMaintenanceSchedules, keepRetentionSchedules, type StopSchedule } from "./schedules";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  logger?: Logger;
  /** Queues to run (Default: all). */
  queues?: Array<keyof typeof QUEUES>;
  /** An already loaded data map (Default: loaded from `config.dataMapPath` and checked). */
  dataMap?: DataMap;
  /** Job lock duration in ms; crash tests shorten it (Default: BullMQ's 30 s for erasure jobs, `config.lockDurationMs` for the others). */
  lockDuration?: number;
  /** How long to wait for Postgres and Redis at start-up before refusing to start. (Default: 10000 ms) */
  startWaitMs?: number;
}

/** A running worker process's handles. */
export interface WorkerHandle {
  services: Services;
  workers: Worker[];
  /** Closes workers (waiting up to the shutdown timeout for active jobs), queues, stores, connections. */
  close(): Promise<void>;
}

const lock = (ms: number | undefined) => (ms ? { lockDuration: ms, stalledInterval: ms } : {});

/** Each queue's worker options: concurrency, rate limit, lock duration (`lockDuration` as asked, else as noted). */
const WORKER_OPTIONS: Record<QueueName, (config: Config, lockDuration: number | undefined) => Omit<BullWorkerOptions, "connection" | "prefix">> = {
  erasure: (config, ms) => ({ concurrency: config.workerConcurrency, ...lock(ms) }),
  maintenance: () => ({ concurrency: 1 }),
  // Stream the zip, at most LETHE_EXPORT_CONCURRENCY at once per process.
  export: (config, ms) => ({ concurrency: config.exportConcurrency, ...lock(ms ?? config.lockDurationMs) }),
  // One pooled SMTP transport per process; the limiter matches LETHE_SMTP_RATE_PER_S.
  mail: (config, ms) => ({
    concurrency: Math.max(SMTP_POOL_SIZE, config.mailConcurrency),
    limiter: limiterFor(config.smtpRatePerS),
    ...lock(ms ?? config.lockDurationMs),
  }),
  retention: (config, ms) => ({ concurrency: config.workerConcurrency, ...lock(ms ?? config.lockDurationMs) }),
  // Freezing a scope reads the application's database at length; two at once per process.
  breach: (config, ms) => ({ concurrency: 2, ...lock(ms ?? config.lockDurationMs) }),
  rights: (config, ms) => ({ concurrency: config.workerConcurrency, ...lock(ms ?? config.lockDurationMs) }),
};

/** Queues in the order their workers start. */
const START_ORDER: QueueName[] = [QUEUES.export, QUEUES.mail, QUEUES.erasure, QUEUES.retention, QUEUES.breach, QUEUES.rights, QUEUES.maintenance];

/**
 * Starts Lethe's workers: config → connections (refusing an unmigrated database and a data map
 * that fails `lethe check`: fail closed) → one BullMQ worker per queue, dispatching from the job
 * table (`jobs/index.ts`) → the schedules (maintenance, retention) kept alive.
 */
export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<WorkerHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const ds = createDataSource(config.databaseUrl, { poolSize: Math.max(4, config.workerConcurrency + 2, config.mailConcurrency + 2) });
  // Both dependencies answer, or the process stops after a bounded wait with one line naming the variable.
  await initializeAtStart(ds, config.databaseUrl, options.startWaitMs ?? config.startTimeoutMs);
  try {
    // A cluster (REDIS_CLUSTER_NODES) is waited for by its own connection's slot discovery.
    if (!config.redisClusterNodes) await waitForRedisAtStart(config.redisUrl, options.startWaitMs ?? config.startTimeoutMs);
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  const connections: QueueConnection[] = [];
  const workers: Worker[] = [];
  const stops: StopSchedule[] = [];
  let services: OpenServices | undefined;
  const close = async (): Promise<void> => {
    for (const stop of stops) stop();
    const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref())]);
    await bounded(Promise.all(workers.map((w) => w.close())));
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    services?.mail?.transport.close();
    await services?.close();
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    if (ds.isInitialized) await ds.destroy();
  };
  try {
    await assertMigrated(ds);
    const dataMap = options.dataMap ?? loadDataMap(config.dataMapPath);
    if (!options.dataMap) await assertDataMapReady(dataMap, config.dataMapPath);
    const fingerprint = await fingerprintAtStart(dataMap, options.dataMap !== undefined, logger);
    services = openServices(config, { ds, dataMap, logger, mapFingerprint: fingerprint }, { role: "worker", storePoolSize: config.workerConcurrency + 2 });
    const wanted = new Set<QueueName>((options.queues ?? (Object.keys(QUEUES) as Array<keyof typeof QUEUES>)).map((q) => QUEUES[q]));
    if (wanted.has(QUEUES.mail)) {
      // Templates are loaded and checked now: a bad template stops the worker at start, not a request later.
      services.mail = {
        templates: { export: loadTemplates("export", config.mailTemplatesDir, EXPORT_TEMPLATE_VARS), notices: loadNoticeTemplates(config.mailTemplatesDir) },
        transport: createMailTransport(config),
      };
    }
    const running = services;
    for (const queue of START_ORDER.filter((q) => wanted.has(q))) {
      const handlers = handlersOf(queue);
      // Each Worker gets its own connection; BullMQ does not close a connection it was given, so close() does.
      const connection = createQueueConnection(config, "worker");
      connections.push(connection);
      const worker = new Worker(
        queue,
        (job, token, signal) => {
          const handler = handlers.get(job.name);
          if (!handler) throw new PermanentError(ERROR_CODES.badPayload, `queue "${queue}" has no job "${job.name}"`);
          const ctx: JobContext = { services: running, logger, ...(token ? { token } : {}), ...(signal ? { signal } : {}) };
          return handler.process(job, ctx);
        },
        { connection, prefix: config.queuePrefix, ...WORKER_OPTIONS[queue](config, options.lockDuration) },
      );
      workers.push(worker);
      if (queue === QUEUES.retention) stops.push(await keepRetentionSchedules(running, logger));
      if (queue === QUEUES.maintenance) stops.push(await keepMaintenanceSchedules(running, logger));
    }
    for (const w of workers) {
      w.on("error", (err) => logger.error({ err, queue: w.name }, "worker error"));
    }
    logger.info({ queues: [...wanted], concurrency: config.workerConcurrency, mapFingerprint: fingerprint }, "worker started");
    return { services: running, workers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Process entry point of `lethe worker`: config → connections → workers → signals. */
export async function main(queues?: string[]): Promise<void> {
  const config = configOrExit("worker");
  const logger = createLogger(config.logLevel);
  const known = Object.keys(QUEUES);
  const bad = queues?.find((q) => !known.includes(q));
  if (bad) throw new Error(`unknown queue "${bad}" (known: ${known.join(", ")})`);
  const handle = await startWorker(config, {
    logger,
    ...(queues ? { queues: queues as Array<keyof typeof QUEUES> } : {}),
    lockDuration: config.lockDurationMs,
  });
  const stopHeartbeat = config.heartbeatFile
    ? startHeartbeat(config.heartbeatFile, () => Promise.all([handle.services.ds.query("SELECT 1"), handle.services.redis.ping()]), logger)
    : () => undefined;
  onShutdownSignal(logger, async () => {
    stopHeartbeat();
    await handle.close();
  });
}

if (require.main === module) runMain("worker", () => main());
