import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { incidentAuditRows } from "../../db/tables/audit-log";
import { assessIncident, decideIncident } from "../../incidents/assess";
import { incidentView } from "../../incidents/incident-view";
import { recordPublicNotice } from "../../incidents/public-notice";
import { closeIncident, createIncident, listIncidents, ListQuerySchema, requireIncident } from "../../incidents/register";
import { exportRegister, registerCsv } from "../../incidents/register-export";
import { draftReport, reportVersions, reportWithDiff, submitReport } from "../../incidents/reports";
import { requireScope } from "../auth";
import { installIncidentProblems } from "../incident-problems";
import { parseOrProblem } from "../validation";

/** `Content-Security-Policy` of the HTML pages (a report): nothing may load. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'";

const versionParam = z.object({ id: z.string().min(1).max(100), version: z.coerce.number().int().min(1).max(100_000) }).strict();

/**
 * The breach register: `/v1/incidents` — create, list, get, the audit trail, export (JSON, CSV),
 * severity assessments, decisions (scope `dpo`), report versions (JSON with the diff, HTML), a
 * public notice, close. Writes need `incidents.write`, reads `incidents.read`; decisions and
 * closing `dpo`. Scopes, notices and the fan-out are in `incident-notices`. Register with `{ prefix: "/v1" }`.
 */
export const incidentRoutes: FastifyPluginAsync = async (app) => {
  installIncidentProblems(app);
  const { ds, config, dataMap } = app.services;
  const keys = config.apiKeys;
  const read = { onRequest: requireScope(keys, ["incidents.read", "console.read"]), config: { ownIdCheck: ["id"] } };
  const write = { onRequest: requireScope(keys, "incidents.write"), config: { ownIdCheck: ["id"] } };
  const dpo = { onRequest: requireScope(keys, "dpo"), config: { ownIdCheck: ["id"] } };
  const by = (r: { apiKeyName: string | null }) => r.apiKeyName ?? "unknown";
  const view = async (id: string) => incidentView(ds, config, await requireIncident(ds, id), new Date());

  app.post("/incidents", write, async (request, reply) => {
    const row = await createIncident({ ds, dataMap }, request.body, by(request), new Date());
    reply.code(201).header("location", `/v1/incidents/${row.id}`);
    return incidentView(ds, config, row, new Date());
  });

  app.get("/incidents", read, async (request) => {
    const query = parseOrProblem(ListQuerySchema, request.query);
    const now = new Date();
    const rows = await listIncidents(ds, query);
    return { incidents: await Promise.all(rows.map((r) => incidentView(ds, config, r, now))) };
  });

  app.get("/incidents/export.json", read, async (_request, reply) => {
    reply.header("content-disposition", 'attachment; filename="lethe-incident-register.json"');
    return { exportedAt: new Date().toISOString(), incidents: await exportRegister(ds, config, new Date()) };
  });

  app.get("/incidents/export.csv", read, async (_request, reply) => {
    reply.type("text/csv; charset=utf-8").header("content-disposition", 'attachment; filename="lethe-incident-register.csv"');
    return registerCsv(await exportRegister(ds, config, new Date()));
  });

  app.get<{ Params: { id: string } }>("/incidents/:id", read, async (request) => view(request.params.id));

  app.get<{ Params: { id: string } }>("/incidents/:id/audit", read, async (request) => {
    const row = await requireIncident(ds, request.params.id);
    return { entries: await incidentAuditRows(ds, row.id) };
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/assessments", write, async (request, reply) => {
    const { assessment, warnings } = await assessIncident(ds, request.params.id, request.body, by(request));
    reply.code(201);
    return {
      id: assessment.id,
      method: assessment.method,
      score: Number(assessment.score),
      band: assessment.band,
      inputs: assessment.inputs,
      result: assessment.result,
      assessedBy: assessment.assessed_by,
      assessedAt: assessment.created_at.toISOString(),
      warnings,
    };
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/decisions", dpo, async (request, reply) => {
    const d = await decideIncident(ds, config, request.params.id, request.body, by(request), new Date());
    reply.code(201);
    return { id: d.id, assessmentId: d.assessment_id, ...d.record, incident: await view(request.params.id) };
  });

  app.get<{ Params: { id: string } }>("/incidents/:id/reports", read, async (request) => ({
    versions: (await reportVersions(ds, request.params.id)).map((r) => ({
      version: r.version,
      kind: r.kind,
      final: r.final,
      submittedAt: r.submitted_at.toISOString(),
      createdBy: r.created_by,
    })),
  }));

  app.get<{ Params: { id: string } }>("/incidents/:id/reports/draft", read, async (request) => draftReport(ds, dataMap, request.params.id, new Date()));

  app.post<{ Params: { id: string } }>("/incidents/:id/reports", write, async (request, reply) => {
    const r = await submitReport(ds, config, request.params.id, request.body, by(request), new Date());
    reply.code(201).header("location", `/v1/incidents/${request.params.id}/reports/${r.version}`);
    return { version: r.version, kind: r.kind, final: r.final, report: r.document, incident: await view(request.params.id) };
  });

  app.get<{ Params: { id: string; version: string } }>("/incidents/:id/reports/:version", read, async (request) => {
    const p = parseOrProblem(versionParam, request.params);
    const { report, changes } = await reportWithDiff(ds, p.id, p.version);
    return { version: report.version, kind: report.kind, final: report.final, report: report.document, changes };
  });

  app.get<{ Params: { id: string; version: string } }>("/incidents/:id/reports/:version/html", read, async (request, reply) => {
    const p = parseOrProblem(versionParam, request.params);
    const { html } = await reportWithDiff(ds, p.id, p.version);
    reply.type("text/html; charset=utf-8").header("content-security-policy", PAGE_CSP);
    return html;
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/public-notice", write, async (request) => {
    await recordPublicNotice(ds, config, request.params.id, request.body, by(request), new Date());
    return view(request.params.id);
  });

  app.post<{ Params: { id: string } }>("/incidents/:id/close", dpo, async (request) => {
    await closeIncident(ds, config, request.params.id, request.body, by(request));
    return view(request.params.id);
  });
};
