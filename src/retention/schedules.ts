import type { Queue } from "bullmq";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { RETENTION_SWEEP } from "../queues/jobs/retention-sweep";
import { schedulerId } from "./runs";

/** What {@link syncSchedules} did. */
export interface ScheduleSync {
  /** Scheduler ids upserted (one per policy). */
  upserted: string[];
  /** Scheduler ids removed because their policy left the data map. */
  removed: string[];
}

/**
 * Makes the retention queue's job schedulers match the data map: one scheduler per policy
 * (`upsertJobScheduler` with the cron pattern and time zone; idempotent, so any number of
 * workers upserting yields one schedule), and none for a policy that is gone.
 */
export async function syncSchedules(queue: Queue, map: DataMap, config: Config): Promise<ScheduleSync> {
  const upserted: string[] = [];
  for (const policy of map.retention) {
    const id = schedulerId(policy.name);
    await RETENTION_SWEEP.schedule(queue, id, { pattern: policy.schedule.cron, tz: policy.schedule.tz }, config, { policy: policy.name });
    upserted.push(id);
  }
  const wanted = new Set(upserted);
  const removed: string[] = [];
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (wanted.has(scheduler.key)) continue;
    await queue.removeJobScheduler(scheduler.key);
    removed.push(scheduler.key);
  }
  return { upserted, removed };
}
