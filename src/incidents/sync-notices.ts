import type { Queue } from "bullmq";
import { getIncidentRow } from "../db/tables/incident";
import { pendingPage } from "../db/tables/notification";
import type { Logger } from "../logger";
import { noticeJobOptions } from "../queues/jobs/send-notice";
import { NOTICE_CHUNK, noticesJobId, SEND_NOTICES } from "../queues/jobs/send-notices";
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

/** Adds one page of pending notifications as `send-notices` jobs ({@link NOTICE_CHUNK} each) in one round trip; a chunk already queued is not added twice. */
async function addPage(queue: Queue, services: Pick<Services, "config">, incidentId: string, ids: string[]): Promise<void> {
  const opts = noticeJobOptions(services.config);
  const jobs = [];
  for (let i = 0; i < ids.length; i += NOTICE_CHUNK) {
    const chunk = ids.slice(i, i + NOTICE_CHUNK);
    const data = SEND_NOTICES.parse({ incidentId, notificationIds: chunk });
    jobs.push({ name: SEND_NOTICES.name, data, opts: { ...opts, jobId: noticesJobId(incidentId, chunk) } });
  }
  await queue.addBulk(jobs);
}

/** Job states from which a notice job can be taken off the queue (not active: a job being sent finishes). */
const REMOVABLE = ["waiting", "delayed", "prioritized"] as const;

/** Removes the incident's `send-notices` jobs that wait; returns how many. */
async function removeWaiting(queue: Queue, incidentId: string, signal?: AbortSignal): Promise<number> {
  const ids: string[] = [];
  for (const state of REMOVABLE) {
    for (let start = 0; ; start += SYNC_CHUNK) {
      signal?.throwIfAborted();
      const jobs = await queue.getJobs(state, start, start + SYNC_CHUNK - 1, true);
      for (const j of jobs) if (j?.name === SEND_NOTICES.name && (j.data as { incidentId?: unknown }).incidentId === incidentId && j.id) ids.push(j.id);
      if (jobs.length < SYNC_CHUNK) break;
    }
  }
  const removed = await Promise.all(ids.map((id) => queue.remove(id).catch(() => 0)));
  return removed.filter((n) => n === 1).length;
}

/**
 * The `sync-notices` job: while the incident's fan-out runs, reads its pending notifications in
 * id order, a page at a time, and adds them as `send-notices` jobs of {@link NOTICE_CHUNK}
 * (`addBulk`); while it is paused, removes the incident's waiting notice jobs instead (a job being
 * sent stops claiming; its claimed sends finish). Memory: one page.
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
  if (state === "paused") {
    // A job that is active refuses removal; it finds the fan-out paused when it claims its next row.
    outcome.removed = await removeWaiting(mail, incidentId, signal);
  } else {
    for (let after: string | null = null; ;) {
      signal?.throwIfAborted();
      const ids = await pendingPage(services.ds, incidentId, after, SYNC_CHUNK);
      if (ids.length === 0) break;
      after = ids.at(-1)!;
      await addPage(mail, services, incidentId, ids);
      outcome.enqueued += ids.length;
    }
  }
  log.info({ ...outcome }, state === "running" ? "notices queued" : "paused notices taken off the queue");
  return outcome;
}
