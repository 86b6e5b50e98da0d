import type { Command } from "commander";
import type * as Assess from "../../incidents/assess";
import type * as View from "../../incidents/incident-view";
import type * as PublicNotice from "../../incidents/public-notice";
import type * as Register from "../../incidents/register";
import type * as RegisterExport from "../../incidents/register-export";
import type * as Reports from "../../incidents/reports";
import type * as AuditLog from "../../db/tables/audit-log";
import { bodyOf, printJson, withBreachSession } from "../breach-session";
import { registerNoticeCommands } from "./breach-notices";

/** `--file`/`--json` on a command that takes a JSON body. */
const withBody = (c: Command): Command => c.option("--file <path>", "the JSON body from a file (- for stdin)").option("--json <text>", "the JSON body inline");

/**
 * `lethe breach …`: the breach register from a terminal, mirroring `/v1/incidents` — create, list,
 * show, audit, export; assess, decide, report, close; and (`breach-notices`) scopes, notices and
 * the fan-out with a progress bar. Each command opens Lethe's database and the queues, does one
 * thing as the API would (same validation, same audit entries, actor `--by`), prints JSON.
 */
export function register(program: Command): void {
  const breach = program.command("breach").description("the breach register (Art. 33/34): incidents, affected people, reports, notices");
  const by = (c: Command): Command => c.option("--by <name>", "who acts (the audit log's actor)", "cli");
  const load = () => ({
    register: require("../../incidents/register") as typeof Register,
    view: require("../../incidents/incident-view") as typeof View,
  });

  by(
    withBody(breach.command("create").description("record an incident (JSON: title, description, kinds, detectedAt, awareAt, occurred?, stores?, systems?)")),
  ).action((opts: { file?: string; json?: string; by: string }) =>
    withBreachSession("create", async (s) => {
      const { register, view } = load();
      const row = await register.createIncident(s, bodyOf(opts), opts.by, new Date());
      printJson(await view.incidentView(s.ds, s.config, row, new Date()));
    }),
  );

  breach
    .command("list")
    .description("incidents, newest first")
    .option("--status <list>", "comma-separated statuses")
    .option("--limit <n>", "at most this many", "100")
    .action((opts: { status?: string; limit: string }) =>
      withBreachSession("list", async (s) => {
        const { register, view } = load();
        const query = register.ListQuerySchema.parse({ ...(opts.status ? { status: opts.status } : {}), limit: opts.limit });
        const now = new Date();
        const rows = await register.listIncidents(s.ds, query);
        printJson(await Promise.all(rows.map((r) => view.incidentView(s.ds, s.config, r, now))));
      }),
    );

  breach
    .command("show")
    .description("one incident: clock, severity, decision, reports, notices")
    .argument("<incident>", "id or reference (BR-2025-0001)")
    .action((id: string) =>
      withBreachSession("show", async (s) => {
        const { register, view } = load();
        printJson(await view.incidentView(s.ds, s.config, await register.requireIncident(s.ds, id), new Date()));
      }),
    );

  breach
    .command("audit")
    .description("the incident's audit trail")
    .argument("<incident>")
    .action((id: string) =>
      withBreachSession("audit", async (s) => {
        const { register } = load();
        const { incidentAuditRows } = require("../../db/tables/audit-log") as typeof AuditLog;
        printJson(await incidentAuditRows(s.ds, (await register.requireIncident(s.ds, id)).id));
      }),
    );

  breach
    .command("export")
    .description("the whole register (every incident, notified or not)")
    .option("--format <format>", "json or csv", "json")
    .action((opts: { format: string }) =>
      withBreachSession("export", async (s) => {
        const { exportRegister, registerCsv } = require("../../incidents/register-export") as typeof RegisterExport;
        const views = await exportRegister(s.ds, s.config, new Date());
        if (opts.format === "csv") process.stdout.write(registerCsv(views));
        else printJson({ exportedAt: new Date().toISOString(), incidents: views });
      }),
    );

  by(
    withBody(breach.command("assess").description("score the severity (ENISA 2013; JSON: dataCategories, ease, confidentiality, …)").argument("<incident>")),
  ).action((id: string, opts: { file?: string; json?: string; by: string }) =>
    withBreachSession("assess", async (s) => {
      const { assessIncident } = require("../../incidents/assess") as typeof Assess;
      const { assessment, warnings } = await assessIncident(s.ds, id, bodyOf(opts), opts.by);
      printJson({ id: assessment.id, method: assessment.method, score: Number(assessment.score), band: assessment.band, warnings });
    }),
  );

  by(withBody(breach.command("decide").description("record the decision (JSON: notifyAuthority, notifySubjects, rationale, …)").argument("<incident>"))).action(
    (id: string, opts: { file?: string; json?: string; by: string }) =>
      withBreachSession("decide", async (s) => {
        const { decideIncident } = require("../../incidents/assess") as typeof Assess;
        printJson((await decideIncident(s.ds, s.config, id, bodyOf(opts), opts.by, new Date())).record);
      }),
  );

  breach
    .command("report-draft")
    .description("the next report version, pre-filled (edit it, then `breach report`)")
    .argument("<incident>")
    .action((id: string) =>
      withBreachSession("report-draft", async (s) => {
        const { draftReport } = require("../../incidents/reports") as typeof Reports;
        printJson(await draftReport(s.ds, s.dataMap, id, new Date()));
      }),
    );

  by(withBody(breach.command("report").description("submit the next report version (initial, follow_up, withdrawal)").argument("<incident>"))).action(
    (id: string, opts: { file?: string; json?: string; by: string }) =>
      withBreachSession("report", async (s) => {
        const { submitReport } = require("../../incidents/reports") as typeof Reports;
        const r = await submitReport(s.ds, s.config, id, bodyOf(opts), opts.by, new Date());
        printJson({ version: r.version, kind: r.kind, final: r.final, report: r.document });
      }),
  );

  breach
    .command("report-show")
    .description("one report version with what changed since the previous one")
    .argument("<incident>")
    .argument("<version>")
    .option("--html", "print the HTML page instead", false)
    .action((id: string, version: string, opts: { html: boolean }) =>
      withBreachSession("report-show", async (s) => {
        const { reportWithDiff } = require("../../incidents/reports") as typeof Reports;
        const { report, changes, html } = await reportWithDiff(s.ds, id, Number(version));
        if (opts.html) process.stdout.write(html);
        else printJson({ version: report.version, kind: report.kind, final: report.final, report: report.document, changes });
      }),
    );

  by(breach.command("public-notice").description("record a public communication (Art. 34(3)(c))").argument("<incident>"))
    .requiredOption("--where <text>", "where it was published")
    .option("--given-at <iso>", "when (Default: now)")
    .action((id: string, opts: { where: string; givenAt?: string; by: string }) =>
      withBreachSession("public-notice", async (s) => {
        const { recordPublicNotice } = require("../../incidents/public-notice") as typeof PublicNotice;
        const row = await recordPublicNotice(
          s.ds,
          s.config,
          id,
          { where: opts.where, ...(opts.givenAt ? { givenAt: opts.givenAt } : {}) },
          opts.by,
          new Date(),
        );
        printJson(await load().view.incidentView(s.ds, s.config, row, new Date()));
      }),
    );

  by(breach.command("close").description("close the incident, or find it not a breach").argument("<incident>"))
    .option("--status <status>", "closed or not_a_breach", "closed")
    .option("--rationale <text>", "why (required for not_a_breach)")
    .action((id: string, opts: { status: string; rationale?: string; by: string }) =>
      withBreachSession("close", async (s) => {
        const { register, view } = load();
        const row = await register.closeIncident(
          s.ds,
          s.config,
          id,
          { status: opts.status, ...(opts.rationale ? { rationale: opts.rationale } : {}) },
          opts.by,
        );
        printJson(await view.incidentView(s.ds, s.config, row, new Date()));
      }),
    );

  registerNoticeCommands(breach, by, withBody);
}
