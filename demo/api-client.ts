import type { RequestView } from "../src/requests/view";

/**
 * The demo's HTTP client for Lethe's `/v1` API: plain `fetch` with a Bearer key, the way an
 * application would call it. Errors carry the problem+json title and detail, never a body echo.
 */

/** Statuses after which a request changes no more (until a hold ends or someone retries). */
const SETTLED = new Set(["completed", "failed", "held"]);

/** What `POST /v1/requests` answered. */
export interface Submitted {
  id: string;
  status: string;
  dueAt: string;
  /** `idempotent-replayed: true`: the key had been used, this is the earlier request. */
  isReplay: boolean;
}

/** A non-2xx answer of the API. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Calls one Lethe API with one key. */
export class DemoApi {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** Any call; parses JSON, throws {@link ApiError} on a non-2xx status. */
  async call<T>(method: "GET" | "POST", path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ data: T; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
        ...opts.headers,
      },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    const data: unknown = text.length > 0 && (res.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text;
    if (!res.ok) {
      const problem = (typeof data === "object" && data !== null ? data : {}) as { title?: string; detail?: string };
      throw new ApiError(
        res.status,
        `${method} ${path} answered ${res.status}: ${problem.title ?? res.statusText}${problem.detail ? ` (${problem.detail})` : ""}`,
      );
    }
    return { data: data as T, headers: res.headers };
  }

  /** `POST /v1/requests`. */
  async submit(body: { type: "erasure" | "export"; subject: Record<string, string>; dryRun?: boolean }, idempotencyKey?: string): Promise<Submitted> {
    const { data, headers } = await this.call<Omit<Submitted, "isReplay">>("POST", "/v1/requests", {
      body,
      ...(idempotencyKey ? { headers: { "idempotency-key": idempotencyKey } } : {}),
    });
    return { ...data, isReplay: headers.get("idempotent-replayed") === "true" };
  }

  /** `GET /v1/requests/:id`. */
  async request(id: string): Promise<RequestView> {
    return (await this.call<RequestView>("GET", `/v1/requests/${encodeURIComponent(id)}`)).data;
  }

  /** Polls `GET /v1/requests/:id` until the request is completed, failed or held. */
  async waitForRequest(id: string, timeoutMs = 15_000, everyMs = 100): Promise<RequestView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.request(id);
      if (SETTLED.has(view.status)) return view;
      if (Date.now() > deadline) throw new Error(`request ${id} is still ${view.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
