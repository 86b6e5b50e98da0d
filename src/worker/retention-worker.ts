import { Queue, Worker } from "bullmq";
import * as retentionSweep from "../../jobs/retention-sweep";
import type { RetentionRuntime } from "../retention/execute-run";
import { reconcileRuns } from "../retention/reconcile-runs";
import { syncSchedules } from "../retention/schedules";
import { createRedis } from "../queues/connection";
import { QUEUES } from "../queues/names";

/** The retention part of a worker process. */
export interface RetentionWorkerHandle {
  worker: Worker;
  queue: Queue;
  /** Stops the schedule/reconcile timer, closes the queue and the connections (close `worker` first). */
  close(): Promise<void>;
}

/**
 * Runs the retention queue: upserts one job scheduler per policy (and removes those of policies
 * that left the data map), re-enqueues unfinished runs whose job is gone, and repeats both every
 * reconcile interval so a Redis that lost everything gets its schedules back.
 */
export async function startRetentionWorker(rt: RetentionRuntime, options: { lockDuration?: number } = {}): Promise<RetentionWorkerHandle> {
  const { config, logger } = rt;
  const connection = createRedis(config.redisUrl, "worker");
  const workerConnection = createRedis(config.redisUrl, "worker");
  const queue = new Queue(QUEUES.retention, { connection, prefix: config.queuePrefix });
  const worker = new Worker(QUEUES.retention, (job, _token, signal) => retentionSweep.processRetentionSweep(rt, job, logger, signal), {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    ...(options.lockDuration ? { lockDuration: options.lockDuration, stalledInterval: options.lockDuration } : {}),
  });
  const tick = async (): Promise<void> => {
    const synced = await syncSchedules(queue, rt.dataMap, config);
    if (synced.removed.length > 0) logger.info({ removed: synced.removed }, "removed the schedules of retention policies no longer in the data map");
    const reconciled = await reconcileRuns(rt.ds, queue, config);
    if (reconciled.enqueued + reconciled.failed > 0) logger.info({ ...reconciled }, "reconciled retention runs");
  };
  let timer: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    await queue.close().catch(() => undefined);
    await Promise.all([connection, workerConnection].map((c) => c.quit().catch(() => c.disconnect())));
  };
  try {
    await tick();
  } catch (err) {
    await worker.close(true).catch(() => undefined);
    await close();
    throw err;
  }
  timer = setInterval(() => {
    tick().catch((err: unknown) => logger.warn({ err }, "retention schedule sync or run reconcile failed; retrying next interval"));
  }, config.reconcileEveryMs);
  timer.unref();
  return { worker, queue, close };
}
