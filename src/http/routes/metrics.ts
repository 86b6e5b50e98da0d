import type { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import type { DataSource } from "typeorm";
import type { Config } from "../../config";
import { LetheMetrics } from "../../metrics/collect-metrics";
import { requireScope } from "../auth";

/** What the metrics route needs. */
export interface MetricsRoutesOptions {
  ds: DataSource;
  config: Config;
  queues: Queue[];
}

/** `GET /metrics` (scope admin): Prometheus text format; request counts, deadlines, queues, retention. */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, opts) => {
  const metrics = new LetheMetrics(opts.ds, opts.queues);
  app.get("/metrics", { onRequest: requireScope(opts.config.apiKeys, "admin") }, async (_request, reply) => {
    reply.header("content-type", metrics.contentType);
    return metrics.render();
  });
};
