import { DelayedError, Worker, type Job } from "bullmq";
import { NoticeCache } from "../src/incidents/notice-cache";
import { NoticeSender } from "../src/incidents/notice-sender";
import { SEND_NOTICES } from "../src/queues/jobs/send-notices";
import type { Services } from "../src/services";
import { processorOf, type JobContext } from "./handler";
import { isLastAttempt } from "./job-failure";

/** One notice sender per process's services: its group commits and its bound on sends in flight are the process's. */
const senders = new WeakMap<Services, NoticeSender>();

const senderOf = (services: Services): NoticeSender => {
  let s = senders.get(services);
  if (!s) senders.set(services, (s = new NoticeSender(services, new NoticeCache())));
  return s;
};

/**
 * Runs a chunk through the process's notice sender and ends the job as the chunk went: done;
 * paused (the rest waits for resume); throttled (back to waiting, no attempt used); rows held by a
 * live send elsewhere (moved to delayed until its lease ends, no attempt used); a retryable failure
 * (retried with backoff; rows already final are skipped then).
 */
export async function runNoticeChunk(
  notificationIds: readonly string[],
  incidentId: string | null,
  job: Job,
  { services, logger, token, signal }: JobContext,
): Promise<{ incidentId: string | null; sent: number; undeliverable: number; skipped: number; paused: boolean }> {
  const result = await senderOf(services).run(notificationIds, { lastAttempt: isLastAttempt(job, null), log: logger, ...(signal ? { signal } : {}) });
  const counts = { incidentId, sent: result.sent, undeliverable: result.undeliverable, skipped: result.skipped };
  if (result.throttled) throw Worker.RateLimitError();
  if (result.retry) throw result.retry;
  if (result.busyMs !== null || result.aborted) {
    await job.moveToDelayed(Date.now() + (result.busyMs ?? 0), token);
    throw new DelayedError();
  }
  logger.debug({ ...counts, paused: result.paused }, "notice chunk done");
  return { ...counts, paused: result.paused };
}

/** Sends a chunk of people their notices (`incidents/notice-sender`). */
export const sendNoticesJob = processorOf(SEND_NOTICES, (payload, job, ctx) => runNoticeChunk(payload.notificationIds, payload.incidentId, job, ctx));
