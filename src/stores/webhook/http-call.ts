import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../webhook/protocol";
import { signLethePayload } from "../../webhook/verify-signature";

/** Largest response body Lethe reads from a processor; the rest is discarded. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** A signed call to a processor. */
export interface SignedRequest {
  method: "POST" | "GET";
  url: string;
  secret: string;
  /** JSON text for POST; a GET signs the empty body. */
  body?: string;
  idempotencyKey?: string;
  timeoutMs: number;
  /** The job's signal: shutting down aborts the call. */
  signal?: AbortSignal;
  /** Signing clock in milliseconds. (Default: `Date.now()`) */
  now?: number;
}

/** How a call ended: an HTTP answer (with at most {@link MAX_RESPONSE_BYTES} of its body), or no answer. */
export type CallResult = { kind: "answer"; status: number; body: string } | { kind: "no-answer"; code: string; cause: unknown };

/** Headers of a signed call: timestamp, signature over `"<timestamp>.<body>"`, idempotency key, JSON. */
export function signedHeaders(secret: string, body: string, options: { idempotencyKey?: string; now?: number } = {}): Record<string, string> {
  const timestamp = Math.floor((options.now ?? Date.now()) / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signLethePayload(secret, body, timestamp),
    ...(options.idempotencyKey ? { [IDEMPOTENCY_HEADER]: options.idempotencyKey } : {}),
    ...(body ? { "Content-Type": "application/json" } : {}),
    Accept: "application/json",
    "User-Agent": "lethe-webhook/1",
  };
}

/** The Node/undici code of a failed fetch (`ECONNREFUSED`, `ETIMEDOUT`, …), or a generic one. */
export function networkCode(err: unknown): string {
  if ((err as { name?: unknown } | null)?.name === "TimeoutError") return "ETIMEDOUT";
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return "ENETWORK";
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= MAX_RESPONSE_BYTES) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString("utf8");
}

/**
 * Sends one signed call. Redirects are not followed (a 3xx is an answer like any other), the
 * timeout covers the whole exchange, and nothing here logs or throws the URL or the body.
 */
export async function sendSigned(req: SignedRequest): Promise<CallResult> {
  const body = req.body ?? "";
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: signedHeaders(req.secret, body, {
        ...(req.idempotencyKey ? { idempotencyKey: req.idempotencyKey } : {}),
        ...(req.now !== undefined ? { now: req.now } : {}),
      }),
      ...(req.method === "POST" ? { body } : {}),
      redirect: "manual",
      signal,
    });
    return { kind: "answer", status: res.status, body: await readBounded(res) };
  } catch (err) {
    if (req.signal?.aborted) throw new Error("the processor call was aborted", { cause: err });
    return { kind: "no-answer", code: networkCode(err), cause: err };
  }
}
