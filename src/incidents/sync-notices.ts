import type { Queue } from "bullmq";
import { getIncidentRow } from "../db/tables/incident";
import { pendingPage } from "../db/tables/notification";
import type { Logger } from "../logger";
import { noticeJobId, noticeJobOptions, SEND_NOTICE } from "../queues/jobs/send-notice";
import type { Services } from "../services";

/** Notification rows read, and jobs added or removed, per round trip. */
export const SYNC_CHUNK = 1000;

/** What one sync did (ids and counts only). */
export interface SyncOutcome {
  incidentId: string;
  state: string;
  enqueued: number;
  removed: number;
}

/** Adds one chunk of notice jobs in one round trip; ids are deterministic, so a job already there is not added twice. */
async function addChunk(queue: Queue, services: Pick<Services, "config">, ids: string[]): Promise<void> {
  const opts = noticeJobOptions(services.config);
  await queue.addBulk(
    ids.map((notificationId) => ({
      name: SEND_NOTICE.name,
      data: SEND_NOTICE.parse({ notificationId }),
      opts: { ...opts, jobId: noticeJobId(notificationId) },
    })),
  );
}

/**
 * The `sync-notices` job: reads the incident's pending notifications in id order, a chunk at a
 * time, and — while its fan-out runs — adds a `send-notice` job for each (`addBulk`); while it is
 * paused, removes their waiting jobs instead (a job being sent finishes). Memory: one chunk.
 */
export async function syncNoticeJobs(
  services: Pick<Services, "ds" | "config" | "queues">,
  incidentId: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<SyncOutcome> {
  const row = await getIncidentRow(services.ds, incidentId);
  const state = row?.fanout_state ?? "gone";
  const outcome: SyncOutcome = { incidentId, state, enqueued: 0, removed: 0 };
  if (state !== "running" && state !== "paused") return outcome;
  const mail = services.queues.mail;
  for (let after: string | null = null; ;) {
    signal?.throwIfAborted();
    const ids = await pendingPage(services.ds, incidentId, after, SYNC_CHUNK);
    if (ids.length === 0) break;
    after = ids.at(-1)!;
    if (state === "running") {
      await addChunk(mail, services, ids);
      outcome.enqueued += ids.length;
    } else {
      // A job that is active (or locked) refuses removal; it finds the fan-out paused when it claims its row.
      const removed = await Promise.all(ids.map((id) => mail.remove(noticeJobId(id)).catch(() => 0)));
      outcome.removed += removed.filter((n) => n === 1).length;
    }
  }
  log.info({ ...outcome }, state === "running" ? "notices queued" : "paused notices taken off the queue");
  return outcome;
}
