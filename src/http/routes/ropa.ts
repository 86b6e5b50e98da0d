import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { retentionOverview } from "../../console/retention-overview";
import { checkRegister } from "../../ropa/check";
import { buildRegister } from "../../ropa/register";
import { REGISTER_FORMATS, renderRegister } from "../../ropa/render";
import { requireScope } from "../auth";
import { CONSOLE_CSP } from "../console/layout";
import { parseOrProblem } from "../validation";

const QUERY = z.object({ format: z.enum(REGISTER_FORMATS, { error: `must be one of: ${REGISTER_FORMATS.join(", ")}` }).default("json") }).strict();

const CONTENT_TYPES = {
  json: "application/json; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  html: "text/html; charset=utf-8",
} as const;

/**
 * `GET /v1/ropa[?format=json|md|csv|html]` (scope `console.read`): the record of processing
 * activities (Art. 30), generated; `GET /v1/ropa/check`: its drift, as `lethe ropa check` finds it.
 * Register with `{ prefix: "/v1" }`.
 */
export const ropaRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap } = app.services;
  const read = { onRequest: requireScope(config.apiKeys, "console.read") };

  app.get("/ropa", read, async (request, reply) => {
    const q = parseOrProblem(QUERY, request.query);
    const now = new Date();
    const register = buildRegister(dataMap, await retentionOverview(ds, dataMap, now), config, now);
    if (q.format === "json") return register;
    if (q.format === "html") reply.header("content-security-policy", CONSOLE_CSP);
    return reply.type(CONTENT_TYPES[q.format]).send(renderRegister(register, q.format));
  });

  app.get("/ropa/check", read, async () => {
    const drift = checkRegister(dataMap);
    return { ok: drift.length === 0, drift };
  });
};
