import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Queue } from "bullmq";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKey } from "../config";
import type { Logger } from "../logger";
import { hasScope, requireScope } from "./auth";
import { cookieOf, readSession, SESSION_COOKIE } from "./console/session";
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, pathOf, sendProblem } from "./problem";

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]["serverAdapter"];
type BoardErrorHandler = Parameters<FastifyAdapter["setErrorHandler"]>[0];

/** Where the bull-board dashboard is served. */
export const DASHBOARD_PATH = "/admin/queues";

/** What the dashboard needs. */
export interface DashboardOptions {
  apiKeys: readonly ApiKey[];
  /** Signs console sessions: a person logged in to the console opens the dashboard without a second login. */
  hmacKey: Buffer;
  /** Queues shown, in order. */
  queues: readonly Queue[];
  /** Offer retry, promote, clean, pause, delete and the like (`LETHE_DASHBOARD_WRITE`). (Default: false, read-only) */
  write?: boolean;
  /** Where an internal dashboard error is logged (its message and stack never reach the browser). */
  logger?: Logger;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * True when a state-changing request comes from the dashboard's own page. A browser adds Basic
 * credentials to any request to this origin, even from another site's form, so such a request
 * must show it is same-origin (`Origin` equal to this host, or `Sec-Fetch-Site: same-origin`).
 * A Bearer token is never added by a browser, so a Bearer request is no cross-site forgery.
 */
export function isSameOriginWrite(request: FastifyRequest): boolean {
  if (/^bearer /i.test(request.headers.authorization ?? "")) return true;
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined) return site === "same-origin";
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const host = request.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Drops the `at …` frames (server paths) of every `stacktrace` array in a dashboard API answer, keeping the messages. */
export function withoutStackFrames(payload: string): string {
  if (!payload.includes('"stacktrace"')) return payload;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = k === "stacktrace" && Array.isArray(x) ? x.map((t) => (typeof t === "string" ? (t.split("\n")[0] ?? "") : t)) : strip(x);
    }
    return out;
  };
  try {
    return JSON.stringify(strip(JSON.parse(payload)));
  } catch {
    return payload;
  }
}

/**
 * bull-board under {@link DASHBOARD_PATH}, reached from the console: reading needs `console.read`,
 * a change `operate` (Bearer, Basic with the key as password, or the console's session cookie).
 * Read-only unless `write`; state changes must be same-origin;
 * errors are problem+json without stack traces, and job stack traces are cut to their messages.
 * Register with `{ prefix: DASHBOARD_PATH }`: the hooks and the not-found handler of this scope
 * then cover every page, API route and static asset.
 */
export const dashboardPlugin: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  const readers = requireScope(opts.apiKeys, "console.read", { basic: true });
  const operators = requireScope(opts.apiKeys, "operate", { basic: true });
  app.addHook("onRequest", async function checkDashboardKey(request: FastifyRequest, reply: FastifyReply) {
    const scope = SAFE_METHODS.has(request.method) ? "console.read" : "operate";
    const cookie = cookieOf(request.headers.cookie, SESSION_COOKIE);
    const key = cookie ? readSession(opts.hmacKey, opts.apiKeys, cookie, new Date()) : null;
    if (key && hasScope(key, scope)) {
      request.apiKeyName = key.name;
      return undefined;
    }
    if (key && !request.headers.authorization) {
      return sendProblem(request, reply, {
        type: PROBLEM_TYPES.forbidden,
        title: "Forbidden",
        status: 403,
        detail: `the API key "${key.name}" lacks the scope "${scope}"`,
      });
    }
    return (scope === "operate" ? operators : readers).call(this, request, reply);
  });
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (SAFE_METHODS.has(request.method)) return undefined;
    if (!opts.write) {
      return sendProblem(request, reply, {
        type: PROBLEM_TYPES.forbidden,
        title: "Forbidden",
        status: 403,
        detail: "the dashboard is read-only; set LETHE_DASHBOARD_WRITE=true to allow retries, clean-ups and other changes",
      });
    }
    if (!isSameOriginWrite(request)) {
      return sendProblem(request, reply, {
        type: PROBLEM_TYPES.forbidden,
        title: "Forbidden",
        status: 403,
        detail: "a change through the dashboard must come from the dashboard's own page (same origin)",
      });
    }
    return undefined;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (typeof payload !== "string") return payload;
    const type = String(reply.getHeader("content-type") ?? "");
    if (!type.startsWith("application/json")) return payload;
    if (reply.statusCode >= 400) reply.header("content-type", PROBLEM_CONTENT_TYPE);
    return withoutStackFrames(payload);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: PROBLEM_TYPES.notFound,
      title: "Not found",
      status: 404,
      detail: `no dashboard page matches ${request.method} ${pathOf(request)}`,
    }),
  );

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !opts.write })),
    // @bull-board/fastify pins its own copy of @bull-board/api (9.10.1): the adapter is the same
    // class at runtime, but TypeScript sees two declarations of the queue adapter's privates.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: "Lethe", hideDocsLink: true } },
  });
  // After createBullBoard (which sets its own): errors as problems, never a message or stack of an internal error.
  const onError: BoardErrorHandler = (error) => {
    const code = (error as { statusCode?: unknown }).statusCode;
    const status = typeof code === "number" && code >= 400 && code < 500 ? code : 500;
    if (status === 500) opts.logger?.error({ err: error }, "dashboard request failed");
    return {
      status: status as 500,
      body: {
        type: status === 404 ? PROBLEM_TYPES.notFound : status === 500 ? PROBLEM_TYPES.internal : PROBLEM_TYPES.invalidRequest,
        title: status === 500 ? "Internal error" : "Invalid request",
        status,
        detail: status === 500 ? "the dashboard request failed on the server; it has been logged" : error.message,
        instance: DASHBOARD_PATH,
      },
    };
  };
  serverAdapter.setErrorHandler(onError);
  await app.register(serverAdapter.registerPlugin());
};
