import { randomUUID } from "node:crypto";
import { noticeFor, type RenderedNotice } from "../breach/notice-templates";
import { decryptJson } from "../crypto";
import { GroupCommit } from "../db/group-commit";
import {
  claimNotifications,
  claimRefusals,
  recordNotificationOutcomes,
  releaseNotification,
  type ClaimedNotification,
  type ClaimRefusal,
  type NotificationOutcomeRow,
} from "../db/tables/notification";
import { ERROR_CODES } from "../errors";
import { mailDomain } from "../exports/send-export-mail";
import type { Logger } from "../logger";
import { isPlainAddress, PreparedMessage } from "../mail/prepared-message";
import { RateWindow } from "../mail/rate-window";
import { classifySmtpError, smtpFailure } from "../mail/smtp-error";
import { isThrottled, redactSmtpAnswer, replyCodeOf } from "../mail/throttle";
import { SMTP_POOL_SIZE } from "../mail/transport";
import { QUEUES } from "../queues/names";
import type { Services } from "../services";
import type { NoticeCache } from "./notice-cache";
import { INCIDENT_HEADER, NOTIFICATION_ID_HEADER, type SealedContact } from "./send-notice";

/**
 * Sends many people their notices over the process's pooled SMTP transport, on the terms of
 * `send-notice` (claim, send, record; 5xx → undeliverable; 421/454 → the queue slows, no attempt
 * used) with fewer round trips: claims and outcomes of every `send-notices` job of the process are
 * written together (group commit: one statement per batch), and at most {@link NoticeSender.width}
 * notices are between claim and record at any time. A row is claimed only when its send is about
 * to start, so what a killed worker leaves in doubt (`resent` on takeover) is at most that many.
 */

/** What one chunk's run did (ids and counts only). */
export interface ChunkResult {
  sent: number;
  undeliverable: number;
  skipped: number;
  /** The fan-out was paused: the rest of the chunk was left (sync takes its job off, resume adds it again). */
  paused: boolean;
  /** The server throttled: the rest of the chunk waits, no attempt used. */
  throttled: boolean;
  /** Some rows are held by a live send elsewhere: wait this long, then run the chunk again. */
  busyMs: number | null;
  /** A retryable failure of at least one notice (its row given back): the chunk is retried with backoff. */
  retry: Error | null;
  /** The job's signal was aborted: the rest of the chunk was left. */
  aborted: boolean;
}

/** How a chunk runs: whether this is the job's last attempt (a 4xx then marks the person undeliverable), a logger, the job's signal. */
export interface ChunkContext {
  lastAttempt: boolean;
  log: Logger;
  signal?: AbortSignal;
}

type Claim = { claim: ClaimedNotification; token: string } | { refusal: ClaimRefusal } | { rateWaitMs: number };

/** How many built notices (incident, version, locale) a process keeps. */
const PREPARED_MESSAGES = 64;

/** How long a claim or an outcome waits for others to share its statement. */
const BATCH_LINGER_MS = 2;

/**
 * Notices between claim and record at once, per process: LETHE_MAIL_CONCURRENCY (at least the SMTP
 * pool size) — the mail queue's concurrency, and so the most a killed worker leaves in doubt.
 */
export function senderWidth(mailConcurrency: number): number {
  return Math.max(SMTP_POOL_SIZE, mailConcurrency);
}

/** The process's notice sender (one per worker process that runs the mail queue). */
export class NoticeSender {
  /** At most this many notices are claimed and not yet recorded. */
  readonly width: number;
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private throttledUntil = 0;
  private readonly claims: GroupCommit<string, Claim>;
  private readonly outcomes: GroupCommit<NotificationOutcomeRow, boolean>;
  private readonly rate: RateWindow;
  /** Sends taken from the shared rate window and not used yet, valid until `budgetUntil`. */
  private budget = 0;
  private budgetUntil = 0;
  private readonly messages = new Map<string, Promise<PreparedMessage>>();

  constructor(
    private readonly services: Pick<Services, "ds" | "config" | "queues" | "mail" | "redis">,
    private readonly cache: NoticeCache,
  ) {
    const { ds, config } = services;
    this.width = senderWidth(config.mailConcurrency);
    this.rate = new RateWindow(services.redis, `${config.queuePrefix}:${QUEUES.mail}:notice-rate`, config.smtpRatePerS);
    // Batches of a quarter of the width or what came within BATCH_LINGER_MS: few statements, the SMTP pool kept busy.
    const batching = { minBatch: Math.ceil(this.width / 4), lingerMs: BATCH_LINGER_MS };
    this.claims = new GroupCommit(async (asked) => {
      // LETHE_SMTP_RATE_PER_S first (every process shares it): those beyond the window wait for the next.
      const { granted, waitMs } = await this.tokens(asked.length);
      const ids = asked.slice(0, granted);
      const token = randomUUID();
      const claimed = await claimNotifications(ds, ids, token, config.lockDurationMs);
      const byId = new Map(claimed.map((c) => [c.id, c]));
      const missing = ids.filter((id) => !byId.has(id));
      const refusals = missing.length > 0 ? await claimRefusals(ds, missing, config.lockDurationMs) : new Map<string, ClaimRefusal>();
      const handed = new Set<string>();
      return asked.map((id, i): Claim => {
        if (i >= granted) return { rateWaitMs: waitMs };
        const claim = byId.get(id);
        if (!claim) return { refusal: refusals.get(id) ?? { reason: "gone" } };
        // Overlapping chunks can ask for one row twice in a batch: the first asker sends it, the other leaves it to them.
        if (handed.has(id)) return { refusal: { reason: "taken" } };
        handed.add(id);
        return { claim, token };
      });
    }, batching);
    // The message is out (or refused for good): record it, retrying briefly so a blip in Postgres does not cause a resend.
    this.outcomes = new GroupCommit(async (rows) => {
      for (let attempt = 1; ; attempt++) {
        try {
          const written = await recordNotificationOutcomes(ds, rows);
          return rows.map((r) => written.has(r.id));
        } catch (err) {
          if (attempt >= 5) throw new Error("notices were sent but their outcome could not be recorded", { cause: err });
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    }, batching);
  }

  /** Sends what it can of one chunk; the caller turns the result into the job's end (done, delayed, rate-limited, retried). */
  async run(notificationIds: readonly string[], ctx: ChunkContext): Promise<ChunkResult> {
    const result: ChunkResult = { sent: 0, undeliverable: 0, skipped: 0, paused: false, throttled: false, busyMs: null, retry: null, aborted: false };
    const stopped = (): boolean => {
      if (ctx.signal?.aborted) result.aborted = true;
      if (Date.now() < this.throttledUntil) result.throttled = true;
      return result.paused || result.throttled || result.aborted;
    };
    if (!this.services.mail) throw new Error("this process does not send mail (it does not run the mail queue)");
    const settled = await Promise.allSettled(
      notificationIds.map(async (id) => {
        await this.acquire();
        try {
          if (stopped()) return;
          await this.one(id, result, ctx, stopped);
        } finally {
          this.release();
        }
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    return result;
  }

  private async one(id: string, result: ChunkResult, ctx: ChunkContext, stopped: () => boolean): Promise<void> {
    const { ds, config } = this.services;
    const mailer = this.services.mail!;
    let got = await this.claims.submit(id);
    while ("rateWaitMs" in got) {
      await new Promise((r) => setTimeout(r, (got as { rateWaitMs: number }).rateWaitMs));
      if (stopped()) return;
      got = await this.claims.submit(id);
    }
    if ("refusal" in got) {
      const r = got.refusal;
      if (r.reason === "paused") result.paused = true;
      else if (r.reason === "busy") result.busyMs = Math.max(result.busyMs ?? 0, r.retryInMs);
      else result.skipped++;
      return;
    }
    const claim = got.claim;
    const undeliverable = async (code: string, smtpCode: number | null, response: string | null): Promise<void> => {
      await this.outcomes.submit({ id, status: "undeliverable", code: smtpCode, errorCode: code, response });
      result.undeliverable++;
      ctx.log.debug({ notificationId: id, incidentId: claim.incident_id, code, smtpCode }, "notice undeliverable");
    };
    const contact = claim.contact ? decryptJson<SealedContact>(config.encryptionKey, claim.contact) : null;
    if (!contact?.email) return undeliverable(ERROR_CODES.noContact, null, null);
    const prepared = await this.cache.get(ds, claim.incident_id, claim.notice_version);
    if (!prepared) throw new Error(`notice version ${claim.notice_version} of incident ${claim.incident_id} is missing`);
    const notice = noticeFor(prepared, contact.locale);
    const messageId = `<notice-${id}@${mailDomain(config.mailFrom)}>`;
    const headers = { [INCIDENT_HEADER]: claim.reference, "Content-Language": notice.locale };
    // The notice is encoded once per (incident, version, locale); each person's copy only gets its own header lines.
    let raw: Buffer | null;
    try {
      raw = isPlainAddress(contact.email)
        ? (await this.messageFor(`${claim.incident_id}:${claim.notice_version}:${notice.locale}:${claim.reference}`, notice, headers)).render(
            contact.email,
            messageId,
            { [NOTIFICATION_ID_HEADER]: id },
          )
        : null;
    } catch (err) {
      // Nothing left: give the row back rather than leave it to look in doubt.
      await releaseNotification(ds, id, got.token, { code: null, errorCode: ERROR_CODES.mailFailed });
      throw err;
    }
    let answer: { response?: string };
    try {
      answer = raw
        ? await mailer.transport.sendRaw(contact.email, raw)
        : await mailer.transport.send({
            to: contact.email,
            subject: notice.subject,
            text: notice.text,
            html: notice.html,
            messageId,
            headers: { [NOTIFICATION_ID_HEADER]: id, ...headers },
          });
    } catch (err) {
      const info = classifySmtpError(err);
      const response = redactSmtpAnswer((err as { response?: unknown }).response as string | undefined);
      if (isThrottled(err)) {
        await releaseNotification(ds, id, got.token, { code: info.smtpCode, errorCode: ERROR_CODES.smtpThrottled });
        result.throttled = true;
        if (Date.now() >= this.throttledUntil) {
          this.throttledUntil = Date.now() + config.smtpThrottleMs;
          await this.services.queues.mail.rateLimit(config.smtpThrottleMs);
          ctx.log.warn({ notificationId: id, smtpCode: info.smtpCode, pauseMs: config.smtpThrottleMs }, "the mail server throttles; the mail queue slows down");
        }
        return;
      }
      if (info.permanent) return undeliverable(info.code, info.smtpCode, response);
      if (ctx.lastAttempt && info.smtpCode !== null) return undeliverable(info.code, info.smtpCode, response);
      await releaseNotification(ds, id, got.token, { code: info.smtpCode, errorCode: info.code });
      result.retry ??= smtpFailure(err);
      return;
    }
    await this.outcomes.submit({ id, status: "sent", code: replyCodeOf(answer.response), errorCode: null, response: redactSmtpAnswer(answer.response) });
    result.sent++;
    ctx.log.debug({ notificationId: id, incidentId: claim.incident_id, attempt: claim.attempts, resent: claim.resent }, "notice sent");
  }

  /** The notice built once for every person of one (incident, version, locale). */
  private messageFor(key: string, notice: RenderedNotice, headers: Record<string, string>): Promise<PreparedMessage> {
    let hit = this.messages.get(key);
    if (!hit) {
      hit = PreparedMessage.build({
        from: this.services.config.mailFrom,
        subject: notice.subject,
        text: notice.text,
        html: notice.html,
        headers: { "Auto-Submitted": "auto-generated", ...headers },
        perRecipient: [NOTIFICATION_ID_HEADER],
      });
      hit.catch(() => this.messages.delete(key));
      this.messages.set(key, hit);
      if (this.messages.size > PREPARED_MESSAGES) this.messages.delete(this.messages.keys().next().value!);
    }
    return hit;
  }

  /**
   * Takes `n` sends from LETHE_SMTP_RATE_PER_S: from what this process took earlier in the current
   * window, else from Redis — at least a width's worth at once, so a busy process asks once per
   * few batches. Returns how many were granted and, when fewer, how long until the window ends.
   */
  private async tokens(n: number): Promise<{ granted: number; waitMs: number }> {
    if (Date.now() >= this.budgetUntil) this.budget = 0;
    let waitMs = 0;
    if (this.budget < n) {
      const got = await this.rate.take(Math.max(n - this.budget, this.width));
      if (got.granted > 0) this.budgetUntil = Date.now() + got.windowMs;
      this.budget += got.granted;
      waitMs = got.windowMs;
    }
    const granted = Math.min(n, this.budget);
    this.budget -= granted;
    return { granted, waitMs: granted < n ? Math.max(1, waitMs) : 0 };
  }

  private acquire(): Promise<void> {
    if (this.active < this.width) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}
