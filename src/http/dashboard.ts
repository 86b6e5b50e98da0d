import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import type { ApiKey } from "../config";
import { hasScope, requireScope } from "./auth";
import { cookieOf, readSession, SESSION_COOKIE } from "./console/session";
import { PROBLEM_TYPES, pathOf, sendProblem } from "./problem";

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]["serverAdapter"];

/** Where the bull-board dashboard is served. */
export const DASHBOARD_PATH = "/admin/queues";

/** What the dashboard needs. */
export interface DashboardOptions {
  apiKeys: readonly ApiKey[];
  /** Signs console sessions: a person logged in to the console opens the dashboard without a second login. */
  hmacKey: Buffer;
  /** Jobs may be retried, promoted, cleaned (keys with `operate`); else read-only (`console.read`). (Default: false) */
  writable?: boolean;
  /** Queues shown, in order. */
  queues: readonly Queue[];
}

/**
 * bull-board under {@link DASHBOARD_PATH}: read-only for keys with `console.read`, or writable for
 * keys with `operate` when enabled. A console session (its cookie) opens it; so do a Bearer key and
 * Basic with the key as password. Register with `{ prefix: DASHBOARD_PATH }`: the auth hook and the
 * not-found handler of this scope then cover every page, API route and static asset.
 */
export const dashboardPlugin: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  const scope = opts.writable ? "operate" : "console.read";
  const byKey = requireScope(opts.apiKeys, scope, { basic: true });
  app.addHook("onRequest", async function checkDashboard(request, reply) {
    const cookie = cookieOf(request.headers.cookie, SESSION_COOKIE);
    const key = cookie ? readSession(opts.hmacKey, opts.apiKeys, cookie, new Date()) : null;
    if (key && hasScope(key, scope)) {
      request.apiKeyName = key.name;
      return undefined;
    }
    return byKey.call(this, request, reply);
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
    queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !opts.writable })),
    // @bull-board/fastify pins its own copy of @bull-board/api (9.10.1): the adapter is the same
    // class at runtime, but TypeScript sees two declarations of the queue adapter's privates.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: "Lethe", hideDocsLink: true } },
  });
  await app.register(serverAdapter.registerPlugin());
};
