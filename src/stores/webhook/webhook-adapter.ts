import { decryptJson, encryptJson } from "../../crypto";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { StepCount } from "../../types";
import { idempotencyKeyOf, type AcceptedBody, type ProcessorCallBody, type ProcessorStatusBody } from "../../webhook/protocol";
import type { EraseOutcome, RecordSteps, StoreAdapter, StoreDeps, StoreRunContext } from "../store-kind";
import { callbackToken, callbackTokenHash, callbackUrl } from "./callback-token";
import { webhookSecretProblem, webhookUrlProblem } from "./check-webhook";
import { durationMs } from "./duration";
import { callFailure, ProcessorUnavailableError } from "./errors";
import { sendSigned, type CallResult } from "./http-call";
import { endCall, getCall, markAccepted, openCall, recordAttempt, type CallKey, type ProcessorCall } from "../../db/tables/processor-call";
import type { WebhookStoreSpec } from "./schema";

/** The `table` of a webhook store's step: a processor has no tables Lethe can see. */
export const PROCESSOR_TABLE = "processor";

/** A call with more than this left when read cannot expire before it is sent. */
const FRESH_MS = 1000;

/** HTTP statuses worth retrying: timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** A processor's `reason` as recorded: a short code, or nothing (free text may hold personal data). */
export function safeReason(reason: unknown): string | null {
  return typeof reason === "string" && /^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(reason) ? reason : null;
}

/** The statuses a callback or a status URL may report, from untrusted JSON text. */
export function parseStatusBody(text: string): ProcessorStatusBody | null {
  try {
    const v = JSON.parse(text) as { status?: unknown; reason?: unknown } | null;
    if (!v || typeof v !== "object") return null;
    if (v.status !== "done" && v.status !== "failed" && v.status !== "pending") return null;
    const reason = safeReason(v.reason);
    return reason ? { status: v.status, reason } : { status: v.status };
  } catch {
    return null;
  }
}

/**
 * The status URL a 202 names, resolved against the store URL, when it is on the store URL's
 * origin (Lethe sends signed requests to the processor only, nowhere a response points it to).
 */
export function statusUrlOf(body: string, storeUrl: string): string | null {
  let named: unknown;
  try {
    named = (JSON.parse(body) as AcceptedBody | null)?.statusUrl;
  } catch {
    return null;
  }
  if (typeof named !== "string" || named === "") return null;
  try {
    const url = new URL(named, storeUrl);
    return url.origin === new URL(storeUrl).origin ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The webhook store kind: tells a processor over signed HTTP to erase the subject (Art. 17, 19).
 * 2xx = done; 202 = accepted, done when the processor calls back or its status URL says so;
 * 408/429/5xx/network = retried (a plain error) until the deadline; any other answer = a
 * permanent failure. The call's state lives in `lethe.processor_call`.
 */
export function webhookAdapter(store: string, deps: StoreDeps): StoreAdapter {
  const { ds, config } = deps;
  if (!ds) throw new Error(`store "${store}": a webhook store needs Lethe's database (StoreDeps.ds)`);

  const spec = (): WebhookStoreSpec => {
    const s = deps.dataMap.stores[store];
    if (!s || s.kind !== "webhook") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a webhook store of the data map`);
    const urlProblem = webhookUrlProblem(s.url);
    if (urlProblem) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": the processor URL ${urlProblem}`);
    const secretProblem = webhookSecretProblem(s.secret);
    if (secretProblem) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": ${secretProblem.message}`);
    return s;
  };

  /** The identities the processor may see that the snapshot has, in data-map order. */
  const subjectOf = (s: WebhookStoreSpec, ctx: StoreRunContext): Record<string, string> => {
    const subject: Record<string, string> = {};
    for (const name of s.identities) {
      const value = ctx.snapshot.identities[name];
      if (value !== undefined && value !== "") subject[name] = value;
    }
    return subject;
  };

  const steps = (rows: number): StepCount[] => [{ store, table: PROCESSOR_TABLE, action: "notified", rows }];

  const done = async (record: RecordSteps): Promise<EraseOutcome> => {
    const counted = steps(1);
    await record(counted);
    return { state: "done", steps: counted };
  };

  const pending = (s: WebhookStoreSpec, call: ProcessorCall): EraseOutcome => ({
    state: "pending",
    steps: [],
    // Wake up no later than just after the deadline, so it is enforced on time.
    checkAgainInMs: Math.max(100, Math.min(s.pollIntervalMs, call.msLeft + 100)),
  });

  /** Where a call that is no longer open leads: done, or the permanent error it ended with. */
  const settled = async (call: ProcessorCall, record: RecordSteps): Promise<EraseOutcome> => {
    if (call.status === "done") return done(record);
    throw callFailure(store, call.errorCode ?? ERROR_CODES.processorFailed, call.lastHttpStatus, call.failureReason);
  };

  /** A retryable error, unless the deadline has passed: then the call fails for good. */
  const unavailable = async (key: CallKey, code: string, message: string, cause?: unknown): Promise<never> => {
    const expired = await endCall(ds, key, { status: "failed", errorCode: ERROR_CODES.processorDeadlineExceeded }, { onlyIfExpired: true });
    if (expired) throw callFailure(store, ERROR_CODES.processorDeadlineExceeded, expired.lastHttpStatus, null);
    throw new ProcessorUnavailableError(code, `store "${store}": ${message}`, cause === undefined ? undefined : { cause });
  };

  /** POSTs the erase call (again, with the same idempotency key) and acts on the answer. */
  const send = async (
    s: WebhookStoreSpec,
    ctx: StoreRunContext,
    key: CallKey,
    call: ProcessorCall,
    subject: Record<string, string>,
    record: RecordSteps,
  ): Promise<EraseOutcome> => {
    // A call read a moment ago with more than a second left cannot have expired since: no check.
    if (call.msLeft <= FRESH_MS) {
      const expired = await endCall(ds, key, { status: "failed", errorCode: ERROR_CODES.processorDeadlineExceeded }, { onlyIfExpired: true });
      if (expired) return settled(expired, record);
    }
    const body: ProcessorCallBody = {
      action: "erase",
      requestId: ctx.requestId,
      subject,
      callbackUrl: callbackUrl(config.publicUrl, callbackToken(config.hmacKey, ctx.requestId, store)),
    };
    const result: CallResult = await sendSigned({
      method: "POST",
      url: s.url,
      secret: s.secret,
      body: JSON.stringify(body),
      idempotencyKey: call.idempotencyKey,
      timeoutMs: s.timeoutMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (result.kind === "answer" && result.status >= 200 && result.status <= 299 && result.status !== 202) {
      // Done: the attempt is counted and the call ended in one statement.
      ctx.logger.info({ httpStatus: result.status, attempt: call.attempts + 1 }, "processor answered");
      const ended = await endCall(ds, key, { status: "done" }, { attempt: { httpStatus: result.status } });
      if (ended) return done(record);
      await recordAttempt(ds, key, result.status);
      return settled((await getCall(ds, key))!, record);
    }
    await recordAttempt(ds, key, result.kind === "answer" ? result.status : null);
    if (result.kind === "no-answer") {
      ctx.logger.warn({ code: result.code, attempt: call.attempts + 1 }, "processor unreachable");
      return unavailable(key, result.code, `the processor could not be reached (${result.code})`, result.cause);
    }
    const status = result.status;
    ctx.logger.info({ httpStatus: status, attempt: call.attempts + 1 }, "processor answered");
    if (status === 202) {
      const url = s.statusUrl ? statusUrlOf(result.body, s.url) : null;
      await markAccepted(ds, key, url === null ? null : encryptJson(config.encryptionKey, url));
      const now = await getCall(ds, key);
      if (!now) throw new Error(`processor call of store "${store}" vanished`);
      // A fast processor may have called back before the 202 was recorded.
      return now.status === "accepted" || now.status === "sent" ? pending(s, now) : settled(now, record);
    }
    if (isRetryableStatus(status)) return unavailable(key, `HTTP_${status}`, `the processor answered HTTP ${status}`);
    const ended = await endCall(ds, key, { status: "failed", errorCode: ERROR_CODES.processorRejected });
    return settled(ended ?? (await getCall(ds, key))!, record);
  };

  /** An accepted call: polls the status URL when there is one, enforces the deadline, else waits. */
  const check = async (s: WebhookStoreSpec, ctx: StoreRunContext, key: CallKey, call: ProcessorCall, record: RecordSteps): Promise<EraseOutcome> => {
    if (s.statusUrl && call.statusUrl) {
      const result = await sendSigned({
        method: "GET",
        url: decryptJson<string>(config.encryptionKey, call.statusUrl),
        secret: s.secret,
        timeoutMs: s.timeoutMs,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      const answer = result.kind === "answer" && result.status >= 200 && result.status <= 299 ? parseStatusBody(result.body) : null;
      ctx.logger.debug({ httpStatus: result.kind === "answer" ? result.status : null, status: answer?.status ?? null }, "processor status polled");
      if (answer?.status === "done" || answer?.status === "failed") {
        const end =
          answer.status === "done"
            ? ({ status: "done" } as const)
            : ({ status: "failed", errorCode: ERROR_CODES.processorFailed, failureReason: answer.reason ?? null } as const);
        await endCall(ds, key, end);
        return settled((await getCall(ds, key))!, record);
      }
    }
    const expired = await endCall(ds, key, { status: "failed", errorCode: ERROR_CODES.processorDeadlineExceeded }, { onlyIfExpired: true });
    if (expired) return settled(expired, record);
    const now = (await getCall(ds, key))!;
    return now.status === "accepted" ? pending(s, now) : settled(now, record);
  };

  return {
    kind: "webhook",
    needsOwnJob: true,
    // The processor's confirmation is the check: `erase` ends as done (and the store is recorded
    // done) only once the call is `done` in Lethe's database — set by the processor's 2xx, its
    // callback or its status URL, never undone — which is all `verify` reads again.
    verifiesBeforeCommit: true,

    async preview(ctx) {
      return steps(Object.keys(subjectOf(spec(), ctx)).length > 0 ? 1 : 0);
    },

    async erase(ctx, record) {
      const s = spec();
      const subject = subjectOf(s, ctx);
      if (Object.keys(subject).length === 0) {
        // Nothing the processor may see identifies this subject: no call, and the receipt says so.
        ctx.logger.info({ requestId: ctx.requestId }, "no identity the processor may see; not notified");
        const counted = steps(0);
        await record(counted);
        return { state: "done", steps: counted };
      }
      const key: CallKey = { requestId: ctx.requestId, store };
      const call = await openCall(ds, key, {
        idempotencyKey: idempotencyKeyOf(ctx.requestId, store),
        tokenHash: callbackTokenHash(callbackToken(config.hmacKey, ctx.requestId, store)),
        deadlineMs: durationMs(s.deadline) ?? 0,
      });
      switch (call.status) {
        case "sent":
          return send(s, ctx, key, call, subject, record);
        case "accepted":
          return check(s, ctx, key, call, record);
        default:
          return settled(call, record);
      }
    },

    async verify(ctx) {
      if (Object.keys(subjectOf(spec(), ctx)).length === 0) return [];
      const call = await getCall(ds, { requestId: ctx.requestId, store });
      if (call?.status === "done") return [];
      return [`${PROCESSOR_TABLE}: erasure not confirmed by the processor (${call ? `call ${call.status}` : "not called"})`];
    },
  };
}
