import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import { installAuth } from "./auth";
import { consolePlugin } from "./console/plugin";
import { CONSOLE_PATH } from "./console/layout";
import { clientErrorHandler, frameworkErrors, installInputGuard } from "./input-guard";
import { DASHBOARD_PATH, dashboardPlugin } from "./dashboard";
import { installProblemHandlers } from "./problem";
import { callbackRoutes } from "./routes/callbacks";
import { exportRoutes } from "./routes/exports";
import { lifecycleRoutes } from "./routes/erasure-lifecycle";
import { healthRoutes } from "./routes/health";
import { incidentNoticeRoutes } from "./routes/incident-notices";
import { incidentRoutes } from "./routes/incidents";
import { listRoutes } from "./routes/lists";
import { metricsRoutes } from "./routes/metrics";
import { openDsrRoutes } from "./routes/opendsr";
import { openDsrCallbackRoutes } from "./routes/opendsr-callbacks";
import { requestRoutes } from "./routes/requests";
import { ropaRoutes } from "./routes/ropa";
import { restrictionRoutes } from "./routes/restrictions";
import { retentionRoutes } from "./routes/retention";
import { rightsRequestRoutes } from "./routes/rights-requests";
import { shownQueues, type HttpServices } from "./services";

/**
 * Request log entry: the method and the route *pattern* (`/v1/requests/:id`), not the URL, so a
 * subject value a client puts in a path or query string never reaches the logs. No headers, no body.
 */
export function logSafeRequest(request: FastifyRequest): { method: string; route: string } {
  return { method: request.method, route: request.routeOptions?.url ?? "(no route)" };
}

/**
 * Builds the API (not listening) on the process's services, decorated as `app.services`:
 * `/v1/requests` (and retry, receipts, holds), export downloads, retention runs,
 * `/v1/callbacks/:token` (processors), `/healthz`, `/readyz`, `/metrics` and the dashboard under
 * `/admin/queues`. Every error is `application/problem+json`. Routes are plugins under `routes/`.
 */
export async function buildServer(services: HttpServices): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = services.logger.child({ component: "http" }, { serializers: { req: logSafeRequest } });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: services.config.bodyLimitBytes,
    trustProxy: false,
    frameworkErrors,
    clientErrorHandler,
  });
  // JSON only: a text/plain body is a 415, not a string the routes have to reject.
  app.removeContentTypeParser("text/plain");
  installProblemHandlers(app, services.config.bodyLimitBytes);
  installAuth(app);
  installInputGuard(app, { ownIdPrefixes: [DASHBOARD_PATH] });

  app.decorate("services", services);

  await app.register(healthRoutes);
  await app.register(requestRoutes, { prefix: "/v1" });
  await app.register(listRoutes, { prefix: "/v1" });
  await app.register(ropaRoutes, { prefix: "/v1" });
  await app.register(exportRoutes, { prefix: "/v1" });
  await app.register(lifecycleRoutes, { prefix: "/v1" });
  await app.register(callbackRoutes, { prefix: "/v1" });
  await app.register(retentionRoutes, { prefix: "/v1" });
  await app.register(incidentRoutes, { prefix: "/v1" });
  await app.register(incidentNoticeRoutes, { prefix: "/v1" });
  await app.register(rightsRequestRoutes, { prefix: "/v1" });
  await app.register(restrictionRoutes, { prefix: "/v1" });
  await app.register(openDsrRoutes, { prefix: "/opendsr/v2" });
  await app.register(openDsrCallbackRoutes, { prefix: "/v1" });
  await app.register(metricsRoutes);
  await app.register(consolePlugin, { prefix: CONSOLE_PATH });
  await app.register(dashboardPlugin, {
    prefix: DASHBOARD_PATH,
    apiKeys: services.config.apiKeys,
    hmacKey: services.config.hmacKey,
    queues: shownQueues(services.queues),
    write: services.config.dashboardWrite,
    logger: services.logger,
  });
  return app;
}
