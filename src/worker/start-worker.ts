import { FlowProducer, Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import * as eraseRequest from "../../jobs/erase-request";
import * as eraseStore from "../../jobs/erase-store";
import * as finalizeErasure from "../../jobs/finalize-erasure";
import * as notifyApp from "../../jobs/notify-app";
import * as purgeExportsJob from "../../jobs/purge-exports";
import * as reconcileJob from "../../jobs/reconcile";
import * as sealAuditJob from "../../jobs/seal-audit";
import type { Config } from "../config";
import { assertDataMapReady } from "../datamap/check";
import { loadDataMap } from "../datamap/load";
import type { DataMap } from "../datamap/schema";
import { assertMigrated, createDataSource } from "../db/data-source";
import type { ErasureRuntime } from "../erasure/runtime";
import { createLogger, type Logger } from "../logger";
import { StorePools } from "../stores/postgres/pools";
import { createRedis } from "../queues/connection";
import { QUEUES } from "../queues/names";
import { StoreSet } from "../stores/store-set";
import { startExportWorkers } from "./export-workers";
import { startRetentionWorker } from "./retention-worker";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  logger?: Logger;
  /** Queues to run (Default: all). */
  queues?: Array<keyof typeof QUEUES>;
  /** An already loaded data map (Default: loaded from `config.dataMapPath` and checked). */
  dataMap?: DataMap;
  /** Lock duration of erasure jobs in ms; crash tests shorten it (Default: BullMQ's 30 s). */
  lockDuration?: number;
}

/** A running worker process's handles. */
export interface WorkerHandle {
  runtime: ErasureRuntime;
  workers: Worker[];
  /** Closes workers (waiting up to the shutdown timeout for active jobs), queues, pools, connections. */
  close(): Promise<void>;
}

/**
 * Starts Lethe's workers: refuses an unmigrated database and a data map that fails `lethe
 * check` (fail closed), runs the erasure queue, and keeps the reconciler scheduled — upserted
 * at start and again every interval, so even a Redis that lost everything gets it back.
 */
export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<WorkerHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const ds = createDataSource(config.databaseUrl, { poolSize: Math.max(4, config.workerConcurrency + 2) });
  await ds.initialize();
  const connections: Redis[] = [];
  const workers: Worker[] = [];
  const queues: Array<{ close(): Promise<void> }> = [];
  let timer: NodeJS.Timeout | undefined;
  const stores = options.dataMap ? new StorePools(options.dataMap, config.workerConcurrency + 2) : undefined;
  let pools = stores;
  let storeSet: StoreSet | undefined;
  const close = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref())]);
    await bounded(Promise.all(workers.map((w) => w.close())));
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    await storeSet?.close();
    await pools?.close();
    if (ds.isInitialized) await ds.destroy();
  };
  try {
    await assertMigrated(ds);
    const dataMap = options.dataMap ?? loadDataMap(config.dataMapPath);
    if (!options.dataMap) await assertDataMapReady(dataMap, config.dataMapPath);
    pools = stores ?? new StorePools(dataMap, config.workerConcurrency + 2);
    const connection = createRedis(config.redisUrl, "worker");
    connections.push(connection);
    // Each Worker gets its own connection; BullMQ does not close a connection it was given, so close() does.
    const workerConnection = (): Redis => {
      const c = createRedis(config.redisUrl, "worker");
      connections.push(c);
      return c;
    };
    const erasureQueue = new Queue(QUEUES.erasure, { connection, prefix: config.queuePrefix });
    const maintenanceQueue = new Queue(QUEUES.maintenance, { connection, prefix: config.queuePrefix });
    queues.push(erasureQueue, maintenanceQueue);
    const flows = new FlowProducer({ connection, prefix: config.queuePrefix });
    queues.push(flows);
    storeSet = new StoreSet({ dataMap, config, pools, logger, ds });
    const runtime: ErasureRuntime = { ds, config, dataMap, storeSet, flows, erasureQueue, maintenanceQueue, logger };
    const wanted = new Set(options.queues ?? (Object.keys(QUEUES) as Array<keyof typeof QUEUES>));
    const exportSide = startExportWorkers(
      { ds, config, dataMap, pools, stores: storeSet, logger },
      { runExport: wanted.has("export"), runMail: wanted.has("mail"), lockDuration: options.lockDuration ?? config.lockDurationMs },
    );
    workers.push(...exportSide.workers);
    queues.push(exportSide);

    if (wanted.has("erasure")) {
      const w = new Worker(
        QUEUES.erasure,
        (job, token) => {
          switch (job.name) {
            case eraseStore.NAME:
              return eraseStore.processEraseStore(runtime, job, token, logger);
            case finalizeErasure.NAME:
              return finalizeErasure.processFinalizeErasure(runtime, job, logger);
            default:
              return eraseRequest.processEraseRequest(runtime, job, logger);
          }
        },
        {
          connection: workerConnection(),
          prefix: config.queuePrefix,
          concurrency: config.workerConcurrency,
          ...(options.lockDuration ? { lockDuration: options.lockDuration, stalledInterval: options.lockDuration } : {}),
        },
      );
      workers.push(w);
    }
    if (wanted.has("retention")) {
      const retention = await startRetentionWorker(
        { ds, config, dataMap, stores: pools, logger },
        { lockDuration: options.lockDuration ?? config.lockDurationMs },
      );
      workers.push(retention.worker);
      queues.push(retention);
    }
    if (wanted.has("maintenance")) {
      const reconcile = () =>
        reconcileJob.reconcile({ ds, config, erasureQueue, logger, exportQueue: exportSide.exportQueue, mailQueue: exportSide.mailQueue });
      const handlers: Record<string, (job: Job) => Promise<unknown>> = {
        [reconcileJob.NAME]: reconcile,
        [notifyApp.NAME]: (job) => notifyApp.processNotifyApp({ ds, config }, job),
        [sealAuditJob.NAME]: () => sealAuditJob.sealAudit(ds),
        [purgeExportsJob.NAME]: () => purgeExportsJob.processPurgeExports(ds, config.exportDir, logger),
      };
      workers.push(
        new Worker(QUEUES.maintenance, async (job) => handlers[job.name]?.(job), {
          connection: workerConnection(),
          prefix: config.queuePrefix,
          concurrency: 1,
        }),
      );
      const opts = { removeOnComplete: true, removeOnFail: 100 };
      const schedule = () =>
        Promise.all([
          maintenanceQueue.upsertJobScheduler(reconcileJob.NAME, { every: config.reconcileEveryMs }, { name: reconcileJob.NAME, data: {}, opts }),
          maintenanceQueue.upsertJobScheduler(sealAuditJob.NAME, { every: config.auditSealEveryMs }, { name: sealAuditJob.NAME, data: {}, opts }),
          maintenanceQueue.upsertJobScheduler(purgeExportsJob.NAME, { every: config.exportPurgeEveryMs }, { name: purgeExportsJob.NAME, data: {}, opts }),
        ]);
      await schedule();
      await reconcile();
      timer = setInterval(() => {
        schedule().catch((err: unknown) => logger.warn({ err }, "could not upsert the maintenance schedules"));
      }, config.reconcileEveryMs);
      timer.unref();
    }
    for (const w of workers) {
      w.on("error", (err) => logger.error({ err, queue: w.name }, "worker error"));
    }
    logger.info({ queues: [...wanted], concurrency: config.workerConcurrency }, "worker started");
    return { runtime, workers, close };
  } catch (err) {
    await close();
    throw err;
  }
}
