import type { FastifyPluginAsync } from "fastify";
import { LetheMetrics } from "../../metrics/collect-metrics";
import { requireScope } from "../auth";
import { shownQueues } from "../services";

/** `GET /metrics` (scope admin): Prometheus text format; request counts, deadlines, queues, retention. */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config } = app.services;
  const metrics = new LetheMetrics(ds, shownQueues(app.services.queues));
  app.get("/metrics", { onRequest: requireScope(config.apiKeys, "admin") }, async (_request, reply) => {
    reply.header("content-type", metrics.contentType);
    return metrics.render();
  });
};
