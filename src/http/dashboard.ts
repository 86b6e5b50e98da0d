import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import type { ApiKey } from "../config";
import { requireScope } from "./auth";
import { PROBLEM_TYPES, pathOf, sendProblem } from "./problem";

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]["serverAdapter"];

/** Where the bull-board dashboard is served. */
export const DASHBOARD_PATH = "/admin/queues";

/** What the dashboard needs. */
export interface DashboardOptions {
  apiKeys: readonly ApiKey[];
  /** Queues shown, in order. */
  queues: readonly Queue[];
}

/**
 * bull-board under {@link DASHBOARD_PATH}, for admin keys only (Bearer, or Basic with the key as
 * password so a browser can log in). Register with `{ prefix: DASHBOARD_PATH }`: the auth hook
 * and the not-found handler of this scope then cover every page, API route and static asset.
 */
export const dashboardPlugin: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  app.addHook("onRequest", requireScope(opts.apiKeys, "admin", { basic: true }));
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
    queues: opts.queues.map((q) => new BullMQAdapter(q)),
    // @bull-board/fastify pins its own copy of @bull-board/api (9.10.1): the adapter is the same
    // class at runtime, but TypeScript sees two declarations of the queue adapter's privates.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: "Lethe", hideDocsLink: true } },
  });
  await app.register(serverAdapter.registerPlugin());
};
