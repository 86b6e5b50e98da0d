import { getCall } from "../../db/tables/processor-call";
import { ERROR_CODES, PermanentError } from "../../errors";
import { RecipientUnavailableError, type RecipientMessage, type RightsKind, type StoreRights, type TellOutcome } from "../rights-side";
import type { StoreDeps } from "../store-kind";
import { webhookSecretProblem, webhookUrlProblem } from "./check-webhook";
import { durationMs } from "./duration";
import { sendSigned } from "./http-call";
import type { WebhookStoreSpec } from "./schema";
import { isRetryableStatus, safeReason } from "./webhook-adapter";

/**
 * The rights side of the webhook kind: a processor is a recipient (Art. 19) and is told of
 * rectifications, restrictions and their lifting, objections and consent withdrawals with one
 * signed POST per event, the same protocol as the erase call (docs/webhook-protocol.md).
 *
 * Answers: 2xx = executed (a body `{"status":"skipped","reason":…}` = skipped), 202 = accepted;
 * 400 or 501 = the processor does not know the action (it implements the erase-only protocol,
 * which tells it to reject unknown actions with 400): recorded `unsupported`, never retried;
 * 408/429/5xx/no answer = retried (a thrown error); any other answer = failed for good.
 */

/** The JSON body of an event, as it goes on the wire. */
export function eventBody(m: RecipientMessage): Record<string, unknown> {
  return {
    action: m.action,
    requestId: m.requestId,
    subject: m.subject,
    ...(m.changes ? { changes: m.changes } : {}),
    ...(m.restriction ? { restriction: m.restriction } : {}),
    ...(m.purpose !== undefined ? { purpose: m.purpose } : {}),
  };
}

/** Reads `{"status":"skipped","reason":…}` from a 2xx answer; null for anything else. */
function skippedReason(body: string): string | null {
  try {
    const v = JSON.parse(body) as { status?: unknown; reason?: unknown } | null;
    if (v && typeof v === "object" && v.status === "skipped") return safeReason(v.reason) ?? "skipped";
  } catch {
    return null;
  }
  return null;
}

function openWebhookRights(store: string, deps: StoreDeps): StoreRights {
  const spec = (): WebhookStoreSpec => {
    const s = deps.dataMap.stores[store];
    if (!s || s.kind !== "webhook") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a webhook store of the data map`);
    const urlProblem = webhookUrlProblem(s.url);
    if (urlProblem) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": the processor URL ${urlProblem}`);
    const secretProblem = webhookSecretProblem(s.secret);
    if (secretProblem) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": ${secretProblem.message}`);
    return s;
  };
  return {
    async erasureCall(requestId) {
      if (!deps.ds) return null;
      const call = await getCall(deps.ds, { requestId, store });
      if (!call) return null;
      const status = call.status === "done" ? "executed" : call.status === "failed" ? "failed" : call.status === "accepted" ? "accepted" : "pending";
      return { idempotencyKey: call.idempotencyKey, status, attempts: call.attempts, lastHttpStatus: call.lastHttpStatus, errorCode: call.errorCode };
    },
    async tell(message, signal): Promise<TellOutcome> {
      const s = spec();
      const result = await sendSigned({
        method: "POST",
        url: s.url,
        secret: s.secret,
        body: JSON.stringify(eventBody(message)),
        idempotencyKey: message.idempotencyKey,
        timeoutMs: s.timeoutMs,
        ...(signal ? { signal } : {}),
      });
      if (result.kind === "no-answer") {
        throw new RecipientUnavailableError(result.code, `store "${store}": the processor could not be reached (${result.code})`, null, {
          cause: result.cause,
        });
      }
      const status = result.status;
      if (status === 202) return { state: "accepted", httpStatus: status };
      if (status >= 200 && status <= 299) {
        const reason = skippedReason(result.body);
        return reason ? { state: "skipped", reason, httpStatus: status } : { state: "executed", httpStatus: status };
      }
      if (status === 400 || status === 501) return { state: "unsupported", httpStatus: status };
      if (isRetryableStatus(status)) throw new RecipientUnavailableError(`HTTP_${status}`, `store "${store}": the processor answered HTTP ${status}`, status);
      return { state: "failed", code: ERROR_CODES.processorRejected, httpStatus: status };
    },
  };
}

/** The rights member of the webhook kind: processors are recipients. */
export const WEBHOOK_RIGHTS: RightsKind<WebhookStoreSpec> = {
  isRecipient: true,
  fieldRefs: (spec) => spec.fields.map((field, i) => ({ path: ["fields", i], field })),
  sharedFields: (spec) => spec.fields,
  sharedIdentities: (spec) => spec.identities,
  deadlineMs: (spec) => durationMs(spec.deadline),
  open: openWebhookRights,
};
