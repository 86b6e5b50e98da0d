import { requestOutcome } from "../src/db/tables/subject-request";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { isVerified, outcomeOf } from "../src/requests/outcome";
import { NOTIFY_APP } from "../src/queues/jobs/notify-app";
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../src/webhook/protocol";
import { signLethePayload } from "../src/webhook/verify-signature";
import { processorOf } from "./handler";

/**
 * POSTs `{event, requestId, type, status, dryRun, outcome, subjectFound, verified, completedAt,
 * error: {code} | null}` — ids, codes and booleans only — signed with LETHE_CALLBACK_SECRET.
 * `outcome` is null until the request completed (`requests/outcome`). 2xx ends it; 408/429/5xx
 * and network errors retry; other 4xx fail.
 */
export const notifyApp = processorOf(NOTIFY_APP, async ({ requestId, event }, _job, { services }) => {
  const { callbackUrl, callbackSecret } = services.config;
  if (!callbackUrl || !callbackSecret) return { status: 0 };
  const r = await requestOutcome(services.ds, requestId);
  if (!r) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  const body = JSON.stringify({
    event,
    requestId,
    type: r.type,
    status: r.status,
    dryRun: r.dry_run,
    outcome: outcomeOf({ status: r.status, dryRun: r.dry_run, result: r.result }),
    subjectFound: r.status === "completed" ? (r.result?.subjectFound ?? null) : null,
    verified: isVerified({ type: r.type, status: r.status, dryRun: r.dry_run, result: r.result }),
    completedAt: r.completed_at?.toISOString() ?? null,
    error: r.error_code ? { code: r.error_code } : null,
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const res = await fetch(callbackUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signLethePayload(callbackSecret, body, timestamp),
      [IDEMPOTENCY_HEADER]: `${event}-${requestId}`,
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.ok) return { status: res.status };
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(`application callback answered ${res.status}`);
  throw new PermanentError(ERROR_CODES.callbackRejected, `application callback answered ${res.status}`);
});
