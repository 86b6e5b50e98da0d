import { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { notificationPage } from "../../db/tables/notification";
import { fanoutProgress, notifySubjects, pauseNotices, resumeNotices } from "../../incidents/fanout";
import { getNotice, listNotices, prepareIncidentNotice } from "../../incidents/notices";
import { requireIncident } from "../../incidents/register";
import { QUEUES } from "../../queues/names";
import { dryRunScope, getScopeView, listScopes, requestFreeze } from "../../incidents/scopes";
import { StorePools } from "../../stores/postgres/pools";
import { StoreSet } from "../../stores/store-set";
import { requireScope } from "../auth";
import { installIncidentProblems } from "../incident-problems";
import { notFound } from "../problem";
import { parseOrProblem } from "../validation";
import { PAGE_CSP } from "./incidents";

const noticeParams = z
  .object({ id: z.string().min(1).max(100), version: z.coerce.number().int().min(1).max(100_000), locale: z.string().min(2).max(35) })
  .strict();

const NotificationQuerySchema = z
  .object({
    status: z.enum(["queued", "sending", "sent", "undeliverable"]).optional(),
    after: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/**
 * The affected people and the notices of an incident: scopes (dry run with counts, freeze), notice
 * versions (rendered per locale, previewed as JSON or HTML), the fan-out (notify, pause, resume),
 * its progress and per-person statuses (keyed hashes and SMTP answers, never an address). Writes
 * need `incidents.write`, reads `incidents.read`. A scope's body may hold a million keys: its limit
 * is `LETHE_BREACH_BODY_LIMIT_BYTES`. Register with `{ prefix: "/v1" }`.
 */
export const incidentNoticeRoutes: FastifyPluginAsync = async (app) => {
  installIncidentProblems(app);
  const { ds, config, dataMap, logger } = app.services;
  const { queues } = app.services;
  const keys = config.apiKeys;
  const read = { onRequest: requireScope(keys, "incidents.read"), config: { ownIdCheck: ["id"] } };
  const write = { onRequest: requireScope(keys, "incidents.write"), config: { ownIdCheck: ["id"] } };
  const by = (r: { apiKeyName: string | null }) => r.apiKeyName ?? "unknown";
  // An API built without the stores (tests) gets its own, closed with the app.
  let stores = app.services.stores;
  if (!stores) {
    const pools = app.services.pools ?? new StorePools(dataMap, 2);
    stores = new StoreSet({ dataMap, config, pools, logger, ds });
    if (!app.services.pools) app.addHook("onClose", () => pools.close());
  }
  const services = { ds, config, dataMap, stores };
  // Without a breach queue among the services, one on the producer connection (closed with the app).
  let breach = queues.breach;
  if (!breach) {
    const own = new Queue(QUEUES.breach, { connection: app.services.redis, prefix: config.queuePrefix });
    own.on("error", (err: Error) => logger.warn({ err, queue: own.name }, "queue error"));
    app.addHook("onClose", () => own.close());
    breach = own;
  }
  const fanout = { ds, config, queues: { breach } };

  app.post<{ Params: { id: string } }>("/incidents/:id/scopes", { ...write, bodyLimit: config.breachBodyLimitBytes }, async (request, reply) => {
    const scope = await dryRunScope(services, request.params.id, request.body, by(request));
    reply.code(201).header("location", `/v1/incidents/${request.params.id}/scopes/${scope.id}`);
    return scope;
  });

  app.get<{ Params: { id: string } }>("/incidents/:id/scopes", read, async (request) => ({ scopes: await listScopes(ds, request.params.id) }));

  app.get<{ Params: { id: string; scopeId: string } }>("/incidents/:id/scopes/:scopeId", read, async (request) =>
    getScopeView(ds, request.params.id, request.params.scopeId),
  );

  app.post<{ Params: { id: string; scopeId: string } }>("/incidents/:id/scopes/:scopeId/freeze", write, async (request, reply) => {
    const scope = await requestFreeze(fanout, request.params.id, request.params.scopeId, by(request));
    reply.code(scope.state === "frozen" ? 200 : 202).header("location", `/v1/incidents/${request.params.id}/scopes/${scope.id}`);
    return scope;
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/notices", write, async (request, reply) => {
    const n = await prepareIncidentNotice(ds, dataMap, request.params.id, request.body, by(request));
    reply.code(201);
    return { version: n.version, locales: n.locales, fallbackLocale: n.fallback_locale, notices: n.notices, createdAt: n.created_at.toISOString() };
  });

  app.get<{ Params: { id: string } }>("/incidents/:id/notices", read, async (request) => ({
    versions: (await listNotices(ds, request.params.id)).map((n) => ({
      version: n.version,
      locales: n.locales,
      fallbackLocale: n.fallback_locale,
      createdAt: n.created_at.toISOString(),
      createdBy: n.created_by,
    })),
  }));

  const noticeOf = async (params: unknown) => {
    const p = parseOrProblem(noticeParams, params);
    const n = await getNotice(ds, p.id, p.version);
    const rendered = n.notices[p.locale];
    if (!rendered) throw notFound(`notice version ${p.version} has no locale "${p.locale}" (it has: ${n.locales.join(", ")})`);
    return rendered;
  };

  app.get<{ Params: { id: string; version: string; locale: string } }>("/incidents/:id/notices/:version/:locale", read, async (request) =>
    noticeOf(request.params),
  );

  app.get<{ Params: { id: string; version: string; locale: string } }>("/incidents/:id/notices/:version/:locale/html", read, async (request, reply) => {
    const rendered = await noticeOf(request.params);
    reply.type("text/html; charset=utf-8").header("content-security-policy", PAGE_CSP);
    return rendered.html;
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/notify", write, async (request, reply) => {
    reply.code(202);
    return notifySubjects(fanout, request.params.id, request.body, by(request));
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/pause", write, async (request) => pauseNotices(fanout, request.params.id, request.body, by(request)));

  app.post<{ Params: { id: string } }>("/incidents/:id/resume", write, async (request) => resumeNotices(fanout, request.params.id, by(request)));

  app.get<{ Params: { id: string } }>("/incidents/:id/progress", read, async (request) =>
    fanoutProgress(ds, config, await requireIncident(ds, request.params.id)),
  );

  app.get<{ Params: { id: string } }>("/incidents/:id/notifications", read, async (request) => {
    const query = parseOrProblem(NotificationQuerySchema, request.query);
    const row = await requireIncident(ds, request.params.id);
    const page = await notificationPage(ds, row.id, {
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.after ? { after: query.after } : {}),
    });
    return {
      notifications: page.map((n) => ({
        id: n.id,
        subjectHash: n.subject_hmac,
        noticeVersion: n.notice_version,
        status: n.status,
        attempts: n.attempts,
        resentInDoubt: n.resent,
        smtpCode: n.smtp_code,
        smtpResponse: n.smtp_response,
        errorCode: n.error_code,
        sentAt: n.sent_at?.toISOString() ?? null,
        updatedAt: n.updated_at.toISOString(),
      })),
      next: page.length === query.limit ? page.at(-1)!.id : null,
    };
  });
};
