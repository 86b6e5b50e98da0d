import type { JobsOptions } from "bullmq";
import { z } from "zod";
import type { Config } from "../../config";
import { defineJob } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of one person's notice: `notice-<notification id>`. */
export function noticeJobId(notificationId: string): string {
  return `notice-${notificationId}`;
}

/**
 * Options of a notice job: retried with backoff; removed when done or failed — the notification
 * row is the record (status, attempts, SMTP answer), and a removed job can be added again by the
 * reconciler while its row is pending.
 */
export function noticeJobOptions(config: Config): JobsOptions {
  return { attempts: config.jobAttempts, backoff: { type: "exponential", delay: config.backoffMs }, removeOnComplete: true, removeOnFail: true };
}

/**
 * `send-notice`: sends one person the Art. 34(2) notice, on the mail queue (its limiter, pooled
 * SMTP). Payload: the notification id only; the address is sealed on the affected-set row.
 */
export const SEND_NOTICE = defineJob({
  name: "send-notice",
  queue: QUEUES.mail,
  payload: z.object({ notificationId: z.uuid() }).strict(),
  options: noticeJobOptions,
  jobId: (p) => noticeJobId(p.notificationId),
});
