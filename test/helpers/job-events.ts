import { QueueEvents, type Job, type JobState, type Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Config } from "../../src/config";
import { QUEUES } from "../../src/queues/names";
import type { WorkerHandle } from "../../workers/worker";
import { waitFor } from "./wait";

/**
 * Waiting on BullMQ instead of sleeping: a job's final state, queues with nothing left to run,
 * and a whole pass of the reconciler — the events after which a test may assert that something
 * did *not* happen (no second mail, no duplicate callback, no request resumed).
 */

/** Name of the reconciler's job on the maintenance queue (jobs/reconcile.ts). */
const RECONCILE = "reconcile";

/** States a job does not leave by itself. */
const FINAL: JobState[] = ["completed", "failed"];

/** Polls the job `id` of `queue` until it is in one of `states` (Default: completed or failed); returns it. */
export async function waitForJobState(queue: Queue, id: string, states: Array<JobState | "unknown"> = FINAL, timeoutMs = 30_000): Promise<Job> {
  let last = "unknown";
  try {
    return await waitFor(
      async () => {
        const job = await queue.getJob(id);
        last = job ? await job.getState() : "unknown";
        return job && states.includes(last as JobState) ? job : undefined;
      },
      `job ${id} of ${queue.name} to be ${states.join("/")}`,
      timeoutMs,
      25,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last state: ${last}`, { cause: err });
  }
}

/** Polls until none of `queues` has a job waiting, delayed, prioritized, active or waiting for children. */
export async function waitForQueuesIdle(queues: Queue[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      for (const q of queues) {
        const counts = await q.getJobCounts("waiting", "delayed", "prioritized", "active", "waiting-children");
        if (Object.values(counts).some((n) => n > 0)) return undefined;
      }
      return true;
    },
    `queues ${queues.map((q) => q.name).join(", ")} to be idle`,
    timeoutMs,
    25,
  );
}

/**
 * Resolves once a job of the in-process `worker` matching `where` has ended (completed or
 * failed). Listening starts at the call: call it before the job can end.
 */
export function nextJobEnd(worker: WorkerHandle, where: (job: Job) => boolean, what: string, timeoutMs = 30_000): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    const listeners: Array<() => void> = [];
    const done = (err: Error | null, job?: Job): void => {
      clearTimeout(timer);
      for (const off of listeners) off();
      if (err) reject(err);
      else resolve(job!);
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    for (const w of worker.workers) {
      const onEnd = (job: Job | undefined): void => {
        if (job && where(job)) done(null, job);
      };
      w.on("completed", onEnd);
      w.on("failed", onEnd);
      listeners.push(() => {
        w.off("completed", onEnd);
        w.off("failed", onEnd);
      });
    }
  });
}

/**
 * Waits until the reconciler of the in-process `worker` has run once from start to end after
 * this call: whatever it would re-enqueue from Postgres has then been enqueued.
 */
export async function reconcilerPass(worker: WorkerHandle, timeoutMs = 30_000): Promise<void> {
  const since = Date.now();
  await nextJobEnd(worker, (job) => job.name === RECONCILE && (job.processedOn ?? 0) >= since, "a whole pass of the reconciler", timeoutMs);
}

/**
 * The same for workers in other processes (sharing Redis and the queue prefix of `config`):
 * waits, through the maintenance queue's event stream, until a reconcile job that became active
 * after this call has completed.
 */
export async function reconcilerPassIn(config: Pick<Config, "redisUrl" | "queuePrefix">, timeoutMs = 30_000): Promise<void> {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const events = new QueueEvents(QUEUES.maintenance, { connection, prefix: config.queuePrefix });
  try {
    await events.waitUntilReady();
    const started = new Set<string>();
    const isReconcile = (jobId: string) => jobId.startsWith(`repeat:${RECONCILE}:`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for a whole pass of the reconciler`)), timeoutMs);
      events.on("active", ({ jobId }) => {
        if (isReconcile(jobId)) started.add(jobId);
      });
      events.on("completed", ({ jobId }) => {
        if (!started.has(jobId)) return;
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    await events.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}
