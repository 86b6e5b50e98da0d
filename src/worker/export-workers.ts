import { Queue, Worker } from "bullmq";
import type { DataSource } from "typeorm";
import * as buildExport from "../../jobs/build-export";
import * as sendMail from "../../jobs/send-mail";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import type { ExportRuntime, MailRuntime } from "../exports/runtime";
import { EXPORT_TEMPLATE_VARS } from "../exports/send-export-mail";
import type { Logger } from "../logger";
import { loadTemplates } from "../mail/templates";
import { createMailTransport, SMTP_POOL_SIZE, type MailTransport } from "../mail/transport";
import type { StorePools } from "../stores/postgres/pools";
import type { StoreSet } from "../stores/store-set";
import { createRedis } from "../queues/connection";
import { QUEUES } from "../queues/names";

/** The export and mail part of a worker process. */
export interface ExportWorkersHandle {
  /** Producers: the reconciler and the build job enqueue on them (always open). */
  exportQueue: Queue;
  mailQueue: Queue;
  /** The `export` and `mail` workers that were asked for. */
  workers: Worker[];
  /** Closes the queues, the SMTP pool and the connections (close `workers` first). */
  close(): Promise<void>;
}

/**
 * BullMQ's limiter for a rate in messages per second: `max` jobs per `duration` ms, so 0.5/s is
 * 1 per 2000 ms and 2.5/s is 3 per 1200 ms.
 */
export function limiterFor(ratePerS: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(ratePerS));
  return { max, duration: Math.round((1000 * max) / ratePerS) };
}

/**
 * Starts the `export` queue (build-export: stream the zip, at most LETHE_EXPORT_CONCURRENCY at
 * once per process) and the `mail` queue (send-mail: one pooled SMTP transport per process, the
 * limiter matched to LETHE_SMTP_RATE_PER_S). Mail templates are loaded and checked here, so a
 * bad template stops the worker at start rather than failing requests later.
 */
export function startExportWorkers(
  deps: { ds: DataSource; config: Config; dataMap: DataMap; pools: StorePools; stores: StoreSet; logger: Logger },
  options: { runExport: boolean; runMail: boolean; lockDuration?: number },
): ExportWorkersHandle {
  const { config, logger } = deps;
  const connection = createRedis(config.redisUrl, "worker");
  const connections = [connection];
  const exportQueue = new Queue(QUEUES.export, { connection, prefix: config.queuePrefix });
  const mailQueue = new Queue(QUEUES.mail, { connection, prefix: config.queuePrefix });
  const workers: Worker[] = [];
  let transport: MailTransport | undefined;
  const lock = options.lockDuration ? { lockDuration: options.lockDuration, stalledInterval: options.lockDuration } : {};
  const workerConnection = () => {
    const c = createRedis(config.redisUrl, "worker");
    connections.push(c);
    return c;
  };

  if (options.runExport) {
    const rt: ExportRuntime = { ds: deps.ds, config, dataMap: deps.dataMap, stores: deps.stores, mailQueue, logger };
    workers.push(
      new Worker(QUEUES.export, (job, _token, signal) => buildExport.processBuildExport(rt, job, logger, signal), {
        connection: workerConnection(),
        prefix: config.queuePrefix,
        concurrency: config.exportConcurrency,
        ...lock,
      }),
    );
  }
  if (options.runMail) {
    const templates = { export: loadTemplates("export", config.mailTemplatesDir, EXPORT_TEMPLATE_VARS) };
    transport = createMailTransport(config);
    const rt: MailRuntime = { ds: deps.ds, config, dataMap: deps.dataMap, transport, templates, logger };
    workers.push(
      new Worker(QUEUES.mail, (job) => sendMail.processSendMail(rt, job, logger), {
        connection: workerConnection(),
        prefix: config.queuePrefix,
        concurrency: SMTP_POOL_SIZE,
        limiter: limiterFor(config.smtpRatePerS),
        ...lock,
      }),
    );
  }
  return {
    exportQueue,
    mailQueue,
    workers,
    async close() {
      await Promise.all([exportQueue, mailQueue].map((q) => q.close().catch(() => undefined)));
      transport?.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
