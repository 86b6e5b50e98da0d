import { setTimeout as sleep } from "node:timers/promises";
import { LetheApiError, type Problem } from "./errors";

/** How {@link LetheClient} reaches the API. */
export interface ClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** An API key (`LETHE_API_KEYS`), sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Abort one HTTP call after this long. (Default: 10000 ms) */
  timeoutMs?: number;
  /** Retries of a call that is safe to repeat (GETs, submits with their idempotency key) after a network error or a 502/503/504. (Default: 2) */
  retries?: number;
  /** The fetch to use (a proxy agent, tests). (Default: the global `fetch`) */
  fetch?: typeof fetch;
}

/** One call: method, path below the base URL, JSON body, extra headers, whether repeating it is safe. */
export interface Call {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Safe to send again after a network error or a gateway/unavailable answer. */
  repeatable: boolean;
  signal?: AbortSignal;
}

const RETRY_STATUSES = new Set([502, 503, 504]);

/** The problem in an error response, or one made from its status when the body is not one. */
async function problemOf(res: Response): Promise<Problem> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (body && typeof body === "object" && typeof body.title === "string" && typeof body.detail === "string") {
      return { type: "about:blank", status: res.status, ...body } as Problem;
    }
  } catch {
    // not JSON: fall through
  }
  return { type: "about:blank", title: res.statusText || "HTTP error", status: res.status, detail: text.slice(0, 200) || `HTTP ${res.status}` };
}

/** Sends calls to the API with the key, a per-call timeout and bounded retries of repeatable calls. */
export class Transport {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(private readonly options: ClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError("baseUrl must be an http:// or https:// URL");
    if (!options.apiKey) throw new TypeError("apiKey is required");
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.fetchFn = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 2;
  }

  /** The absolute URL of `path`. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Sends `call`; resolves with the successful response, rejects with {@link LetheApiError} on an error status. */
  async send(call: Call): Promise<Response> {
    const attempts = call.repeatable ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.once(call);
      } catch (err) {
        if (attempt >= attempts || call.signal?.aborted) throw err;
        await sleep(200 * 2 ** attempt, undefined, call.signal ? { signal: call.signal } : undefined);
        continue;
      }
      if (res.ok) return res;
      if (attempt < attempts && RETRY_STATUSES.has(res.status)) {
        await res.body?.cancel();
        await sleep(200 * 2 ** attempt, undefined, call.signal ? { signal: call.signal } : undefined);
        continue;
      }
      throw new LetheApiError(res.status, await problemOf(res));
    }
  }

  /** Sends `call` and parses the JSON answer. */
  async json<T>(call: Call): Promise<T> {
    const res = await this.send(call);
    return (await res.json()) as T;
  }

  private once(call: Call): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json", authorization: `Bearer ${this.options.apiKey}`, ...call.headers };
    const init: RequestInit = { method: call.method, headers, signal };
    if (call.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }
    return this.fetchFn(this.url(call.path), init);
  }
}
