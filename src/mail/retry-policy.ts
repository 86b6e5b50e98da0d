import type { JobsOptions } from "bullmq";
import type { Config } from "../config";

/**
 * How mail rides out an SMTP outage, the way a mail server's queue does: retries with a delay
 * that doubles from LETHE_BACKOFF_MS up to one hour, for LETHE_SMTP_RETRY_HOURS (default 24 h).
 * The mail worker applies {@link mailBackoffMs} (its `backoffStrategy`); the job's attempts are
 * enough to span the whole window ({@link mailAttemptsFor}), and the processor also stops at the
 * window's end ({@link isPastMailWindow}) whatever the attempts left.
 */

/** Name of the backoff type mail jobs use. */
export const MAIL_BACKOFF_TYPE = "mail-doubling";

/** The longest wait between two tries of one message. */
export const MAIL_BACKOFF_CAP_MS = 3_600_000;

/** The wait before the next try after `attemptsMade` failed tries (1, 2, …): `baseMs · 2^(n-1)`, at most an hour. */
export function mailBackoffMs(attemptsMade: number, baseMs: number): number {
  const n = Math.max(1, attemptsMade);
  return Math.min(MAIL_BACKOFF_CAP_MS, baseMs * 2 ** Math.min(n - 1, 40));
}

/** Attempts whose waits add up to at least `retryHours` (one more than the waits between them). */
export function mailAttemptsFor(retryHours: number, baseMs: number): number {
  const budget = retryHours * 3_600_000;
  let waited = 0;
  let attempts = 1;
  while (waited < budget) {
    waited += mailBackoffMs(attempts, baseMs);
    attempts++;
  }
  return attempts;
}

/** A mail job's options: the doubling backoff over the whole retry window. */
export function mailJobOptions(config: Config): JobsOptions {
  return {
    attempts: mailAttemptsFor(config.smtpRetryHours, config.backoffMs),
    backoff: { type: MAIL_BACKOFF_TYPE },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** True when a message first queued at `firstQueuedAt` (ms) has been retried for the whole window. */
export function isPastMailWindow(firstQueuedAt: number, retryHours: number, now = Date.now()): boolean {
  return now - firstQueuedAt >= retryHours * 3_600_000;
}
