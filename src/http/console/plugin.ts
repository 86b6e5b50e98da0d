import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { verifyAuditChain } from "../../audit/log";
import { BadCursorError, listRequests, requestSummary } from "../../console/request-list";
import { retentionOverview } from "../../console/retention-overview";
import { requestAuditRows } from "../../db/tables/audit-log";
import { getIncidentRow } from "../../db/tables/incident";
import { decisionsOf } from "../../db/tables/incident-decision";
import { reportsOf } from "../../db/tables/incident-report";
import { listHoldRows } from "../../db/tables/legal-hold";
import { listDeliveryRows } from "../../db/tables/mail-delivery";
import { listRunRows } from "../../db/tables/retention-run";
import { incidentView } from "../../incidents/incident-view";
import { listIncidents } from "../../incidents/register";
import { getRequestView } from "../../requests/service";
import { extendRequest } from "../../rights/extend";
import { recipientsOfRequest } from "../../rights/recipient-list";
import { refusalMessage } from "../../rights/refusals";
import { toRunView } from "../../retention/runs";
import { decodeCursor, encodeCursor } from "../../console/cursor";
import { findApiKey, hasScope } from "../auth";
import { PROBLEM_TYPES, pathOf, sendProblem, notFound } from "../problem";
import { rightsServicesOf } from "../rights-services";
import { REQUEST_LIST_QUERY, requestListFilter } from "../routes/lists";
import { retryAnyRequest } from "../routes/erasure-lifecycle";
import { parseOrProblem } from "../validation";
import { CONSOLE_CSP, CONSOLE_PATH, renderPage, type Flash, type Section } from "./layout";
import { incidentBody, incidentsBody } from "./pages/incidents";
import { loginBody } from "./pages/login";
import { auditBody, deliveriesBody, holdsBody, retentionBody } from "./pages/operations";
import { confirmBody, requestBody, auditEntries, type TimelineEntry } from "./pages/request";
import { requestsBody } from "./pages/requests";
import { jobTimeline } from "./jobs";
import { consoleUserOf, csrfHolds, csrfToken, makeSession, setSessionCookie, userCan, type ConsoleUser } from "./session";
import { CONSOLE_CSS } from "./style";
import { buildRegister } from "../../ropa/register";
import { checkRegister } from "../../ropa/check";
import { renderRegister } from "../../ropa/render";
import { reportWithDiff } from "../../incidents/reports";
import { registerBody } from "./pages/register";

declare module "fastify" {
  interface FastifyRequest {
    /** The console's user (set by the console's auth hook). */
    consoleUser: ConsoleUser | null;
  }
}

/** The console's icon (so the browser does not ask for a missing `/favicon.ico`). */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#24292f"/><path d="M5 3v10h6" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

/** Messages of `?done=` and `?error=` after an action (fixed texts: nothing from the query is echoed). */
const FLASH: Record<string, Flash> = {
  extended: { kind: "ok", text: "The request was extended; the person will be told." },
  retried: { kind: "ok", text: "The request was queued again." },
  "invalid-extension": { kind: "error", text: "Give 1 or 2 months and a reason." },
  "not-failed": { kind: "error", text: "Only a failed request can be retried." },
  "identities-wiped": { kind: "error", text: "This request cannot be retried (its identities were wiped); make a new request." },
  "still-active": { kind: "error", text: "A job of this request is still running; try again when it has stopped." },
  final: { kind: "error", text: refusalMessage("final") },
  "already-extended": { kind: "error", text: refusalMessage("already-extended") },
  "past-due": { kind: "error", text: refusalMessage("past-due") },
  "no-subject": { kind: "error", text: refusalMessage("no-subject") },
  "not-found": { kind: "error", text: "No request has this id." },
  csrf: { kind: "error", text: "The form expired; please try again." },
};

function flashOf(query: unknown): Flash | null {
  const q = (query ?? {}) as Record<string, unknown>;
  const code = typeof q.done === "string" ? q.done : typeof q.error === "string" ? q.error : null;
  return code ? (FLASH[code] ?? null) : null;
}

/** Drops empty query values (a form's "any" option), so they mean "no filter". */
function withoutEmpty(query: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter(([k, v]) => v !== "" && k !== "done" && k !== "error"));
}

const REGISTER_FORMAT_PARAM = z.object({ format: z.enum(["md", "csv", "json"], { error: "must be md, csv or json" }) }).strict();
const REPORT_PARAMS = z.object({ id: z.uuid({ error: "must be an incident id" }), version: z.coerce.number().int().min(1).max(100_000) }).strict();

const EXTEND_FORM = z.object({
  months: z.enum(["1", "2"]).transform(Number),
  reason: z.string().trim().min(1).max(2000),
  confirm: z.string().optional(),
  csrf: z.string().optional(),
});

/**
 * The compliance console under `/admin`: server-rendered pages (no script, no CDN, one stylesheet,
 * a strict CSP) for keys with `console.read`; retry needs `operate`, extension `dpo`. Login by API
 * key (a signed session cookie) or `Authorization: Bearer`. Register with `{ prefix: "/admin" }`
 * before the queue dashboard.
 */
export const consolePlugin: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap, queues, redis } = app.services;
  const keys = config.apiKeys;
  app.decorateRequest("consoleUser", null);

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 16_384 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("content-security-policy", CONSOLE_CSP);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
    reply.header("cache-control", "no-store");
    return payload;
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: PROBLEM_TYPES.notFound,
      title: "Not found",
      status: 404,
      detail: `no console page matches ${request.method} ${pathOf(request)}`,
    }),
  );

  const open = new Set([`${CONSOLE_PATH}/console.css`, `${CONSOLE_PATH}/favicon.svg`, `${CONSOLE_PATH}/login`]);
  app.addHook("onRequest", async (request, reply) => {
    const path = pathOf(request);
    if (open.has(path)) return undefined;
    const user = consoleUserOf(request, config.hmacKey, keys, new Date());
    if (!user) {
      if (request.method === "GET") return reply.code(303).header("location", `${CONSOLE_PATH}/login`).send();
      return sendProblem(request, reply, { type: PROBLEM_TYPES.unauthorized, title: "Unauthorized", status: 401, detail: "log in to the console first" });
    }
    if (!hasScope(user.key, "console.read")) {
      return sendProblem(request, reply, {
        type: PROBLEM_TYPES.forbidden,
        title: "Forbidden",
        status: 403,
        detail: `the API key "${user.key.name}" lacks the scope "console.read"`,
      });
    }
    request.consoleUser = user;
    request.apiKeyName = user.key.name;
    return undefined;
  });

  const userOf = (request: FastifyRequest): ConsoleUser => request.consoleUser!;
  const csrfOf = (user: ConsoleUser): string | null => (user.session ? csrfToken(config.hmacKey, user.session) : null);
  const html = (reply: FastifyReply, request: FastifyRequest, title: string, section: Section | null, body: string, flash?: Flash | null): FastifyReply => {
    const user = request.consoleUser;
    return reply.type("text/html; charset=utf-8").send(renderPage({ title, section, user, csrf: user ? csrfOf(user) : null, flash: flash ?? null, body }));
  };
  const forbidden = (request: FastifyRequest, reply: FastifyReply, scope: string): FastifyReply =>
    sendProblem(request, reply, {
      type: PROBLEM_TYPES.forbidden,
      title: "Forbidden",
      status: 403,
      detail: `the API key "${userOf(request).key.name}" lacks the scope "${scope}"`,
    });

  app.get("/console.css", async (_request, reply) => reply.type("text/css; charset=utf-8").send(CONSOLE_CSS));

  app.get("/favicon.svg", async (_request, reply) => reply.type("image/svg+xml").send(FAVICON));

  app.get("/", async (_request, reply) => reply.code(303).header("location", `${CONSOLE_PATH}/requests`).send());

  app.get("/login", async (request, reply) => {
    const failed = (request.query as Record<string, unknown>).failed === "1";
    return html(reply, request, "Log in", null, loginBody(failed));
  });

  app.post("/login", async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const secret = typeof body.key === "string" ? body.key.trim() : "";
    const key = secret ? findApiKey(keys, secret) : null;
    if (!key || !hasScope(key, "console.read")) return reply.code(303).header("location", `${CONSOLE_PATH}/login?failed=1`).send();
    setSessionCookie(request, reply, makeSession(config.hmacKey, key, new Date()));
    return reply.code(303).header("location", `${CONSOLE_PATH}/requests`).send();
  });

  app.post("/logout", async (request, reply) => {
    setSessionCookie(request, reply, null);
    return reply.code(303).header("location", `${CONSOLE_PATH}/login`).send();
  });

  app.get("/requests", async (request, reply) => {
    const raw = withoutEmpty(request.query);
    const q = parseOrProblem(REQUEST_LIST_QUERY, { state: "open", ...raw });
    const now = new Date();
    const filter = requestListFilter(q);
    let page;
    try {
      page = await listRequests(
        { ds, dataMap, erasureQueue: queues.erasure, redis },
        filter,
        { limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) },
        now,
      );
    } catch (err) {
      if (err instanceof BadCursorError) {
        return sendProblem(request, reply, { type: PROBLEM_TYPES.invalidRequest, title: "Invalid request", status: 400, detail: err.message });
      }
      throw err;
    }
    const summary = await requestSummary(ds, now, q.dryRun);
    const f = { ...filter, ...(q.cursor ? { cursor: q.cursor } : {}) };
    return html(reply, request, q.dryRun ? "Previews (dry runs)" : "Requests", "requests", requestsBody(f, page, summary), flashOf(request.query));
  });

  app.get<{ Params: { id: string } }>("/requests/:id", async (request, reply) => {
    const view = await getRequestView(ds, request.params.id);
    if (!view) throw notFound("no request has this id");
    const user = userOf(request);
    const [audit, jobs, recipients] = await Promise.all([
      requestAuditRows(ds, view.id),
      jobTimeline(queues.erasure, dataMap, view),
      recipientsOfRequest(rightsServicesOf(app), view.id).catch(() => null),
    ]);
    const timeline: TimelineEntry[] = [
      ...auditEntries(audit),
      ...view.steps.map((s) => ({ at: null, source: "step" as const, what: `${s.action} ${s.store}.${s.table}`, detail: `${s.rows} rows` })),
      ...jobs,
    ];
    const actions = { canRetry: userCan(user, "operate"), canExtend: userCan(user, "dpo"), csrf: csrfOf(user) };
    return html(
      reply,
      request,
      `Request ${view.id.slice(0, 8)}`,
      "requests",
      requestBody(view, timeline, recipients, actions, new Date()),
      flashOf(request.query),
    );
  });

  app.post<{ Params: { id: string } }>("/requests/:id/retry", async (request, reply) => {
    const user = userOf(request);
    if (!userCan(user, "operate")) return forbidden(request, reply, "operate");
    const body = (request.body ?? {}) as Record<string, string>;
    const back = `${CONSOLE_PATH}/requests/${encodeURIComponent(request.params.id)}`;
    if (!csrfHolds(config.hmacKey, user, body.csrf)) return reply.code(303).header("location", `${back}?error=csrf`).send();
    if (body.confirm !== "yes") {
      const body2 = confirmBody({
        title: "Retry the request",
        what: "The failed stores of this request start over; finished stores are not redone.",
        action: `${back}/retry`,
        fields: {},
        csrf: csrfOf(user),
        back,
      });
      return html(reply, request, "Retry the request", "requests", body2);
    }
    const outcome = await retryAnyRequest(app, request.params.id, user.key.name);
    return reply
      .code(303)
      .header("location", outcome === "retried" ? `${back}?done=retried` : `${back}?error=${outcome}`)
      .send();
  });

  app.post<{ Params: { id: string } }>("/requests/:id/extend", async (request, reply) => {
    const user = userOf(request);
    if (!userCan(user, "dpo")) return forbidden(request, reply, "dpo");
    const back = `${CONSOLE_PATH}/requests/${encodeURIComponent(request.params.id)}`;
    const raw = (request.body ?? {}) as Record<string, string>;
    if (!csrfHolds(config.hmacKey, user, raw.csrf)) return reply.code(303).header("location", `${back}?error=csrf`).send();
    const parsed = EXTEND_FORM.safeParse(raw);
    if (!parsed.success) return reply.code(303).header("location", `${back}?error=invalid-extension`).send();
    const { months, reason } = parsed.data;
    if (parsed.data.confirm !== "yes") {
      const what = `The due date moves ${months} further month${months > 1 ? "s" : ""} (counted from receipt), and the person is told with your reason. Art. 12(3) allows this once.`;
      return html(
        reply,
        request,
        "Extend the deadline",
        "requests",
        confirmBody({ title: "Extend the deadline", what, action: `${back}/extend`, fields: { months: String(months), reason }, csrf: csrfOf(user), back }),
      );
    }
    const out = await extendRequest(rightsServicesOf(app), request.params.id, { months: months as 1 | 2, reason, by: user.key.name });
    return reply
      .code(303)
      .header("location", typeof out === "string" ? `${back}?error=${out}` : `${back}?done=extended`)
      .send();
  });

  app.get("/incidents", async (request, reply) => {
    const now = new Date();
    const rows = await listIncidents(ds, { limit: 200 });
    const views = await Promise.all(rows.map((r) => incidentView(ds, config, r, now)));
    return html(reply, request, "Incidents", "incidents", incidentsBody(views));
  });

  app.get<{ Params: { id: string } }>("/incidents/:id", async (request, reply) => {
    const row = await getIncidentRow(ds, request.params.id);
    if (!row) throw notFound("no incident has this id or reference");
    const [view, reports, decisions] = await Promise.all([incidentView(ds, config, row, new Date()), reportsOf(ds, row.id), decisionsOf(ds, row.id)]);
    return html(reply, request, `Incident ${view.reference}`, "incidents", incidentBody(view, reports, decisions));
  });

  app.get("/retention", async (request, reply) => {
    const [policies, runs] = await Promise.all([retentionOverview(ds, dataMap, new Date()), listRunRows(ds, { limit: 50, before: null })]);
    return html(
      reply,
      request,
      "Retention",
      "retention",
      retentionBody(
        policies,
        runs.slice(0, 50).map((r) => toRunView(r)),
      ),
    );
  });

  app.get("/deliveries", async (request, reply) => {
    const { rows, counts } = await listDeliveryRows(ds, 200);
    return html(reply, request, "Deliveries", "deliveries", deliveriesBody(rows, counts));
  });

  app.get("/holds", async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const before = typeof q.cursor === "string" ? decodeCursor(q.cursor) : null;
    const rows = await listHoldRows(ds, { limit: 50, before });
    const shown = rows.slice(0, 50);
    const last = shown[shown.length - 1];
    return html(reply, request, "Legal holds", "holds", holdsBody(shown, rows.length > 50 && last ? encodeCursor(last.createdKey, last.id) : null));
  });

  app.get("/register", async (request, reply) => {
    const now = new Date();
    const register = buildRegister(dataMap, await retentionOverview(ds, dataMap, now), config, now);
    return html(reply, request, "Register of processing (Art. 30)", "register", registerBody(register, checkRegister(dataMap)));
  });

  app.get<{ Params: { format: string } }>("/register/:format", async (request, reply) => {
    const format = parseOrProblem(REGISTER_FORMAT_PARAM, request.params).format;
    const now = new Date();
    const register = buildRegister(dataMap, await retentionOverview(ds, dataMap, now), config, now);
    const types = { md: "text/markdown; charset=utf-8", csv: "text/csv; charset=utf-8", json: "application/json; charset=utf-8" } as const;
    return reply
      .type(types[format])
      .header("content-disposition", `attachment; filename="register-of-processing.${format}"`)
      .send(renderRegister(register, format));
  });

  app.get<{ Params: { id: string; version: string } }>("/incidents/:id/reports/:version", async (request, reply) => {
    const p = parseOrProblem(REPORT_PARAMS, request.params);
    const { html: page } = await reportWithDiff(ds, p.id, p.version);
    return reply.type("text/html; charset=utf-8").send(page);
  });

  app.get("/audit", async (request, reply) => {
    const report = await verifyAuditChain(ds);
    return html(reply, request, "Audit log", "audit", auditBody(report, new Date()));
  });
};
