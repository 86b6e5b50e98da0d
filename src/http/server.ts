import type { Queue } from "bullmq";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import { installAuth } from "./auth";
import { DASHBOARD_PATH, dashboardPlugin } from "./dashboard";
import { installProblemHandlers } from "./problem";
import { callbackRoutes } from "./routes/callbacks";
import { exportRoutes } from "./routes/exports";
import { lifecycleRoutes } from "./routes/erasure-lifecycle";
import { healthRoutes } from "./routes/health";
import { metricsRoutes } from "./routes/metrics";
import { requestRoutes } from "./routes/requests";
import { retentionRoutes } from "./routes/retention";

/** Everything the API process holds open; {@link buildServer} uses them, the caller owns them. */
export interface ApiDeps {
  /** Lethe's own database (initialized, migrated). */
  ds: DataSource;
  config: Config;
  /** The validated data map: which identities a request may name its subject by. */
  dataMap: DataMap;
  /** Queues requests are enqueued on and the dashboard shows, with `prefix: config.queuePrefix`. */
  queues: { erasure: Queue; maintenance: Queue; export?: Queue; mail?: Queue };
  /** The producer connection (fails fast), pinged by `/readyz`. */
  redis: Redis;
  /** The process logger; the server logs through a child (`component: "http"`). */
  logger: Logger;
}

/**
 * Request log entry: the method and the route *pattern* (`/v1/requests/:id`), not the URL, so a
 * subject value a client puts in a path or query string never reaches the logs. No headers, no body.
 */
export function logSafeRequest(request: FastifyRequest): { method: string; route: string } {
  return { method: request.method, route: request.routeOptions?.url ?? "(no route)" };
}

/**
 * Builds the API (not listening): `/v1/requests`, `/v1/callbacks/:token` (processors), `/healthz`, `/readyz` and the dashboard under
 * `/admin/queues`. Every error is `application/problem+json`. Later routes (export downloads,
 * retention, holds) join as plugins under `routes/`.
 */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger.child({ component: "http" }, { serializers: { req: logSafeRequest } });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: false,
  });
  // JSON only: a text/plain body is a 415, not a string the routes have to reject.
  app.removeContentTypeParser("text/plain");
  installProblemHandlers(app, deps.config.bodyLimitBytes);
  installAuth(app);

  await app.register(healthRoutes, { ds: deps.ds, redis: deps.redis });
  await app.register(requestRoutes, {
    prefix: "/v1",
    ds: deps.ds,
    config: deps.config,
    dataMap: deps.dataMap,
    erasureQueue: deps.queues.erasure,
    ...(deps.queues.export ? { exportQueue: deps.queues.export } : {}),
    logger: deps.logger,
  });
  await app.register(exportRoutes, { prefix: "/v1", ds: deps.ds, config: deps.config });
  await app.register(lifecycleRoutes, { prefix: "/v1", ds: deps.ds, config: deps.config, dataMap: deps.dataMap, erasureQueue: deps.queues.erasure });
  await app.register(callbackRoutes, { prefix: "/v1", ds: deps.ds, dataMap: deps.dataMap, erasureQueue: deps.queues.erasure });
  await app.register(retentionRoutes, { prefix: "/v1", ds: deps.ds, config: deps.config, dataMap: deps.dataMap, redis: deps.redis, logger: deps.logger });
  await app.register(metricsRoutes, {
    ds: deps.ds,
    config: deps.config,
    queues: [
      deps.queues.erasure,
      deps.queues.maintenance,
      ...(deps.queues.export ? [deps.queues.export] : []),
      ...(deps.queues.mail ? [deps.queues.mail] : []),
    ],
  });
  await app.register(dashboardPlugin, {
    prefix: DASHBOARD_PATH,
    apiKeys: deps.config.apiKeys,
    queues: [
      deps.queues.erasure,
      deps.queues.maintenance,
      ...(deps.queues.export ? [deps.queues.export] : []),
      ...(deps.queues.mail ? [deps.queues.mail] : []),
    ],
  });
  return app;
}
