import type { FastifyPluginAsync } from "fastify";
import { PROBLEM_TYPES, sendProblem } from "../problem";
import { checkReadiness } from "../readiness";

/**
 * `GET /healthz` (the process is up) and `GET /readyz` (Postgres answers, migrations are
 * applied, Redis answers; and the data map's fingerprint, to compare processes). No
 * authentication: orchestrators call them, and they reveal no data.
 */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (request, reply) => {
    const report = await checkReadiness(app.services.ds, app.services.redis);
    const fingerprint = app.services.mapFingerprint ? { mapFingerprint: app.services.mapFingerprint } : {};
    if (report.ready) return { status: "ok", checks: report.checks, ...fingerprint };
    const notReady = Object.entries(report.checks)
      .filter(([, state]) => state !== "ok")
      .map(([name, state]) => `${name} ${state}`);
    request.log.warn({ checks: report.checks }, "not ready");
    return sendProblem(
      request,
      reply,
      {
        type: PROBLEM_TYPES.notReady,
        title: "Not ready",
        status: 503,
        detail: `not ready: ${notReady.join(", ")}`,
        checks: report.checks,
        ...fingerprint,
      },
      { "retry-after": "5" },
    );
  });
};
