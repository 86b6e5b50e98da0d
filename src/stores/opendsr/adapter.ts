import { createHash, createHmac } from "node:crypto";
import {
  applyOpenDsrAnswer,
  expireOpenDsrCall,
  getOpenDsrCall,
  openOpenDsrCall,
  recordOpenDsrAttempt,
  type OpenDsrCall,
  type OpenDsrCallKey,
} from "../../db/tables/opendsr-call";
import { ERROR_CODES, PermanentError } from "../../errors";
import { CREATED_BODY_SCHEMA, OPENDSR_API_VERSION, STATUS_BODY_SCHEMA, type OpenDsrIdentity, type StatusBody } from "../../opendsr/protocol";
import { matchOfIdentity, normalizeIdentity } from "../../subject/identity-match";
import type { StepCount } from "../../types";
import type { EraseOutcome, RecordSteps, StoreAdapter, StoreDeps, StoreRunContext } from "../store-kind";
import { webhookUrlProblem } from "../webhook/check-webhook";
import { durationMs } from "../webhook/duration";
import { isRetryableStatus } from "../webhook/webhook-adapter";
import { OpenDsrClient, UntrustedProcessorError, type Answer } from "./client";
import type { OpenDsrStoreSpec } from "./schema";

/** The `table` of an opendsr store's step: the processor's tables are not Lethe's to see. */
export const OPENDSR_TABLE = "processor";

/** Where Lethe receives OpenDSR callbacks, under its public URL. */
export function openDsrCallbackUrl(publicUrl: string): string {
  return `${publicUrl}/v1/opendsr/callbacks`;
}

/** The `subject_request_id` of a request at a store: a UUID v4 derived with the HMAC key (the same on every retry, unguessable). */
export function subjectRequestIdOf(hmacKey: Buffer, requestId: string, store: string): string {
  const b = createHmac("sha256", hmacKey).update(`opendsr\n${requestId}\n${store}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What of a signed status body the receipt keeps: the body as signed, parsed, and its signature. */
function recorded(answer: Extract<Answer, { signed: true }>): { answer: Record<string, unknown>; signature: string } {
  return { answer: { raw: answer.body }, signature: answer.signature };
}

/** A status body from a verified answer, or null when it is not one (or names another request). */
export function statusOf(body: string, subjectRequestId: string): StatusBody | null {
  try {
    const parsed = STATUS_BODY_SCHEMA.safeParse(JSON.parse(body));
    return parsed.success && parsed.data.subject_request_id === subjectRequestId ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The erase side of the opendsr kind: `POST requests` (erasure) with the identities the store
 * allows, the answer verified before it is read; then the request's status, from signed
 * callbacks (`/v1/opendsr/callbacks`) or polling `GET requests/:id`, until `completed` (done),
 * `cancelled` (failed) or the deadline (failed). 408/429/5xx/no answer are retried; any other
 * answer, or one not signed by the processor's trusted certificate, fails for good.
 */
export function openDsrAdapter(store: string, deps: StoreDeps): StoreAdapter {
  const { ds, config, dataMap } = deps;
  if (!ds) throw new Error(`store "${store}": an opendsr store needs Lethe's database (StoreDeps.ds)`);

  const spec = (): OpenDsrStoreSpec => {
    const s = dataMap.stores[store];
    if (!s || s.kind !== "opendsr") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not an opendsr store of the data map`);
    const urlProblem = webhookUrlProblem(s.url);
    if (urlProblem) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": the processor URL ${urlProblem}`);
    return s;
  };
  const client = new OpenDsrClient(spec);

  /** The identities the processor may receive that the snapshot has, in declaration order. */
  const identitiesOf = (s: OpenDsrStoreSpec, ctx: StoreRunContext): OpenDsrIdentity[] => {
    const out: OpenDsrIdentity[] = [];
    for (const i of s.identities) {
      const value = ctx.snapshot.identities[i.identity];
      if (value === undefined || value === "") continue;
      const identity_value =
        i.format === "sha256"
          ? createHash("sha256")
              .update(normalizeIdentity(value, matchOfIdentity(dataMap.subject, i.identity)), "utf8")
              .digest("hex")
          : value;
      out.push({ identity_type: i.type, identity_value, identity_format: i.format });
    }
    return out;
  };

  const steps = (rows: number): StepCount[] => [{ store, table: OPENDSR_TABLE, action: "notified", rows }];

  const fail = (code: string, message: string): never => {
    throw new PermanentError(code, `store "${store}": ${message}`);
  };

  const settled = async (call: OpenDsrCall, record: RecordSteps): Promise<EraseOutcome> => {
    if (call.status === "completed") {
      const counted = steps(1);
      await record(counted);
      return { state: "done", steps: counted };
    }
    if (call.status === "cancelled") return fail(ERROR_CODES.opendsrRejected, "the processor cancelled the request");
    return fail(call.errorCode ?? ERROR_CODES.processorFailed, `the processor did not complete the request (${call.errorCode ?? "failed"})`);
  };

  const pending = (s: OpenDsrStoreSpec, call: OpenDsrCall): EraseOutcome => ({
    state: "pending",
    steps: [],
    checkAgainInMs: Math.max(100, Math.min(s.pollIntervalMs, call.msLeft + 100)),
  });

  /** A retryable error, unless the deadline has passed: then the call fails for good. */
  const unavailable = async (key: OpenDsrCallKey, message: string, record: RecordSteps): Promise<never> => {
    const expired = await expireOpenDsrCall(ds, key, ERROR_CODES.processorDeadlineExceeded);
    if (expired) await settled(expired, record);
    throw new Error(`store "${store}": ${message}`);
  };

  const untrusted = async (key: OpenDsrCallKey, reason: string): Promise<never> => {
    await applyOpenDsrAnswer(ds, key, { status: "failed", errorCode: ERROR_CODES.opendsrUntrusted });
    return fail(ERROR_CODES.opendsrUntrusted, `the processor's answer was refused: ${reason}`);
  };

  /** Applies a verified status body; returns the outcome. */
  const applyStatus = async (s: OpenDsrStoreSpec, key: OpenDsrCallKey, status: StatusBody, answer: Extract<Answer, { signed: true }>, record: RecordSteps) => {
    const r = recorded(answer);
    const call = await applyOpenDsrAnswer(ds, key, {
      status: status.request_status,
      expectedAt: new Date(status.expected_completion_time),
      controllerId: status.controller_id,
      answer: r.answer,
      signature: r.signature,
    });
    if (!call) throw new Error(`OpenDSR call of store "${store}" vanished`);
    return call.status === "pending" || call.status === "in_progress" ? pending(s, call) : settled(call, record);
  };

  /** Wraps the processor's identity checks: an untrusted processor fails the call for good. */
  const guarded = async <T>(key: OpenDsrCallKey, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UntrustedProcessorError) return untrusted(key, err.message);
      throw err;
    }
  };

  /** Sends the request (again, with the same `subject_request_id` and body) and acts on the answer. */
  const send = async (
    s: OpenDsrStoreSpec,
    ctx: StoreRunContext,
    key: OpenDsrCallKey,
    call: OpenDsrCall,
    identities: OpenDsrIdentity[],
    record: RecordSteps,
  ) => {
    const expired = await expireOpenDsrCall(ds, key, ERROR_CODES.processorDeadlineExceeded);
    if (expired) return settled(expired, record);
    const discovery = await guarded(key, () => client.discover(ctx.signal));
    if (!discovery.supported_subject_request_types.includes("erasure")) return untrusted(key, "the processor does not support erasure requests");
    const supported = identities.filter((i) =>
      discovery.supported_identities.some((p) => p.identity_type === i.identity_type && p.identity_format === i.identity_format),
    );
    if (supported.length === 0) {
      await applyOpenDsrAnswer(ds, key, { status: "failed", errorCode: ERROR_CODES.processorRejected });
      return fail(ERROR_CODES.processorRejected, "the processor supports none of the identities the store may send");
    }
    const body = JSON.stringify({
      subject_request_id: call.subjectRequestId,
      subject_request_type: "erasure",
      regulation: "gdpr",
      submitted_time: call.firstAttemptAt.toISOString(),
      subject_identities: supported,
      api_version: OPENDSR_API_VERSION,
      status_callback_urls: [openDsrCallbackUrl(config.publicUrl)],
    });
    const answer = await guarded(key, () => client.call("POST", "requests", body, ctx.signal));
    await recordOpenDsrAttempt(ds, key, answer.kind === "answer" ? answer.status : null);
    if (answer.kind === "no-answer") return unavailable(key, `the processor could not be reached (${answer.code})`, record);
    ctx.logger.info({ httpStatus: answer.status, attempt: call.attempts + 1, signed: answer.signed }, "OpenDSR processor answered");
    if (!answer.signed) {
      if (answer.status < 200 || answer.status > 299) {
        if (isRetryableStatus(answer.status)) return unavailable(key, `the processor answered HTTP ${answer.status}`, record);
        await applyOpenDsrAnswer(ds, key, { status: "failed", errorCode: ERROR_CODES.processorRejected });
        return fail(ERROR_CODES.processorRejected, `the processor refused the request (HTTP ${answer.status})`);
      }
      return untrusted(key, answer.reason);
    }
    let created: ReturnType<typeof CREATED_BODY_SCHEMA.safeParse> | null = null;
    try {
      created = CREATED_BODY_SCHEMA.safeParse(JSON.parse(answer.body));
    } catch {
      created = null;
    }
    if (answer.status !== 201 || !created?.success || created.data.subject_request_id !== call.subjectRequestId) {
      return untrusted(key, "the answer is not a 201 for this subject_request_id");
    }
    // `encoded_request` holds the identities: it is not stored (§7.3).
    const accepted = await applyOpenDsrAnswer(ds, key, {
      status: "pending",
      expectedAt: new Date(created.data.expected_completion_time),
      controllerId: created.data.controller_id,
    });
    if (!accepted) throw new Error(`OpenDSR call of store "${store}" vanished`);
    return accepted.status === "pending" || accepted.status === "in_progress" ? pending(s, accepted) : settled(accepted, record);
  };

  /** An accepted request: polls its status (signed), enforces the deadline, else waits. */
  const check = async (s: OpenDsrStoreSpec, ctx: StoreRunContext, key: OpenDsrCallKey, call: OpenDsrCall, record: RecordSteps) => {
    const answer = await guarded(key, () => client.call("GET", `requests/${call.subjectRequestId}`, undefined, ctx.signal));
    if (answer.kind === "answer" && answer.signed) {
      const status = statusOf(answer.body, call.subjectRequestId);
      if (status) return applyStatus(s, key, status, answer, record);
    }
    ctx.logger.debug({ httpStatus: answer.kind === "answer" ? answer.status : null }, "OpenDSR status polled");
    const expired = await expireOpenDsrCall(ds, key, ERROR_CODES.processorDeadlineExceeded);
    if (expired) return settled(expired, record);
    const now = (await getOpenDsrCall(ds, key))!;
    return now.status === "pending" || now.status === "in_progress" ? pending(s, now) : settled(now, record);
  };

  return {
    kind: "opendsr",
    // An accepted request waits for the processor (callback or poll): a job of its own.
    needsOwnJob: true,

    async preview(ctx) {
      return steps(identitiesOf(spec(), ctx).length > 0 ? 1 : 0);
    },

    async erase(ctx, record) {
      const s = spec();
      const identities = identitiesOf(s, ctx);
      if (identities.length === 0) {
        ctx.logger.info({ requestId: ctx.requestId }, "no identity the processor may receive; not sent");
        const counted = steps(0);
        await record(counted);
        return { state: "done", steps: counted };
      }
      const key: OpenDsrCallKey = { requestId: ctx.requestId, store };
      const call = await openOpenDsrCall(ds, key, {
        subjectRequestId: subjectRequestIdOf(config.hmacKey, ctx.requestId, store),
        deadlineMs: durationMs(s.deadline) ?? 0,
      });
      switch (call.status) {
        case "new":
          return send(s, ctx, key, call, identities, record);
        case "pending":
        case "in_progress":
          return check(s, ctx, key, call, record);
        default:
          return settled(call, record);
      }
    },

    async verify(ctx) {
      if (identitiesOf(spec(), ctx).length === 0) return [];
      const call = await getOpenDsrCall(ds, { requestId: ctx.requestId, store });
      if (call?.status === "completed") return [];
      return [`${OPENDSR_TABLE}: erasure not confirmed by the processor (${call ? `request ${call.status}` : "not sent"})`];
    },
  };
}
