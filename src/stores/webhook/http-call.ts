import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
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

/**
 * Keep-alive agents for processor calls: a worker calls the same few processors again and again.
 * Calls went through undici's `fetch` before, which a CPU profile of `bench:stores` showed taking
 * 0.95 s of the worker's main thread for 1,100 calls; a pooled `node:http` request is cheaper.
 */
const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 }),
};

/** An error with a Node network code (what {@link networkCode} reads). */
function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Sends one signed call. Redirects are not followed (a 3xx is an answer like any other), the
 * timeout covers the whole exchange, and nothing here logs or throws the URL or the body.
 */
export async function sendSigned(req: SignedRequest): Promise<CallResult> {
  const body = req.body ?? "";
  if (req.signal?.aborted) throw new Error("the processor call was aborted", { cause: req.signal.reason });
  try {
    const url = new URL(req.url);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") throw codedError("ERR_INVALID_URL", "not an http(s) URL");
    const headers: Record<string, string> = signedHeaders(req.secret, body, {
      ...(req.idempotencyKey ? { idempotencyKey: req.idempotencyKey } : {}),
      ...(req.now !== undefined ? { now: req.now } : {}),
    });
    const payload = req.method === "POST" ? Buffer.from(body, "utf8") : undefined;
    if (payload) headers["Content-Length"] = String(payload.length);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(url, { method: req.method, headers, agent: secure ? agents.https : agents.http });
      const fail = (err: Error) => {
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
        request.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(codedError("ETIMEDOUT", "the processor did not answer in time")), req.timeoutMs);
      const onAbort = () => fail(codedError("ABORT_ERR", "aborted"));
      req.signal?.addEventListener("abort", onAbort, { once: true });
      request.on("error", fail);
      request.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(timer);
          req.signal?.removeEventListener("abort", onAbort);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString("utf8") });
        };
        res.on("data", (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          // Enough read: the rest is discarded with the connection (not reused).
          if (size >= MAX_RESPONSE_BYTES) {
            res.destroy();
            done();
          }
        });
        res.on("end", done);
        res.on("error", fail);
        res.on("aborted", () => fail(codedError("ECONNRESET", "the processor closed the connection mid-answer")));
      });
      request.end(payload);
    });
    return { kind: "answer", status, body: text };
  } catch (err) {
    if (req.signal?.aborted) throw new Error("the processor call was aborted", { cause: err });
    return { kind: "no-answer", code: networkCode(err), cause: err };
  }
}
