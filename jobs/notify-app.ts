import type { Job, Queue } from "bullmq";
import type { DataSource } from "typeorm";
import { z } from "zod";
import type { Config } from "../src/config";
import { PermanentError } from "../src/errors";
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../src/webhook/protocol";
import { signLethePayload } from "../src/webhook/verify-signature";
import { parsePayload } from "../src/queues/payload";

/** Job name: tells the application that a request completed or failed (optional, signed like processor calls). */
export const NAME = "notify-app";

/** Payload: the request id and what happened. */
export const PAYLOAD = z.object({ requestId: z.uuid(), event: z.enum(["request.completed", "request.failed"]) }).strict();

/** Enqueues the notification when a callback URL is configured (deterministic id: sent once per event). */
export async function enqueueNotifyApp(queue: Queue, config: Config, requestId: string, event: z.infer<typeof PAYLOAD>["event"]): Promise<void> {
  if (!config.callbackUrl) return;
  await queue.add(
    NAME,
    { requestId, event },
    {
      jobId: `notify-${requestId}-${event.replace(".", "-")}`,
      attempts: 10,
      backoff: { type: "exponential", delay: 2000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/**
 * POSTs `{event, requestId, type, status, completedAt, error: {code} | null}` — ids and codes only —
 * signed with LETHE_CALLBACK_SECRET. 2xx ends it; 408/429/5xx and network errors retry; other 4xx fail.
 */
export async function processNotifyApp(deps: { ds: DataSource; config: Config }, job: Job): Promise<{ status: number }> {
  const { requestId, event } = parsePayload(PAYLOAD, job.data, NAME);
  const { callbackUrl, callbackSecret } = deps.config;
  if (!callbackUrl || !callbackSecret) return { status: 0 };
  const rows = (await deps.ds.query(`SELECT type, status, completed_at, error_code FROM lethe.subject_request WHERE id = $1`, [requestId])) as Array<{
    type: string;
    status: string;
    completed_at: Date | null;
    error_code: string | null;
  }>;
  const r = rows[0];
  if (!r) throw new PermanentError("unknown_request", "unknown request id");
  const body = JSON.stringify({
    event,
    requestId,
    type: r.type,
    status: r.status,
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
  throw new PermanentError("callback_rejected", `application callback answered ${res.status}`);
}
