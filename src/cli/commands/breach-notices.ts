import type { Command } from "commander";
import type * as Fanout from "../../incidents/fanout";
import type * as Notices from "../../incidents/notices";
import type * as Register from "../../incidents/register";
import type * as Scopes from "../../incidents/scopes";
import { bodyOf, linesOf, printJson, withBreachSession, type BreachSession } from "../breach-session";
import { ProgressBar } from "../progress-bar";

/** Polls the fan-out's progress onto a bar until every notice is out (or `timeoutS` passes). */
async function watch(s: BreachSession, id: string, timeoutS: number): Promise<Fanout.FanoutProgress> {
  const { fanoutProgress } = require("../../incidents/fanout") as typeof Fanout;
  const { requireIncident } = require("../../incidents/register") as typeof Register;
  const bar = new ProgressBar(process.stderr);
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const p = await fanoutProgress(s.ds, s.config, await requireIncident(s.ds, id));
    bar.update(p);
    if (p.state === "done" || p.state === "paused" || Date.now() > deadline) {
      bar.done();
      return p;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The `breach` commands about people: `scope` (a dry run: a JSON scope, or a file of keys or
 * identities, one per line), `freeze`, `notice`, `notify` / `resume` (with `--wait`: a progress bar
 * until every notice is out), `pause`, `progress`.
 */
export function registerNoticeCommands(breach: Command, by: (c: Command) => Command, withBody: (c: Command) => Command): void {
  const scopes = () => require("../../incidents/scopes") as typeof Scopes;

  by(withBody(breach.command("scope").description("count the people a scope reaches (dry run); prints the scope with its id").argument("<incident>")))
    .option("--keys-file <path>", "a list of keys, one per line (with --store, --table, optional --column)")
    .option("--identities-file <path>", "a list of identity values, one per line (with --identity)")
    .option("--store <name>")
    .option("--table <name>")
    .option("--column <name>")
    .option("--identity <name>", "the identity the list holds", "email")
    .action(
      (
        id: string,
        opts: {
          file?: string;
          json?: string;
          by: string;
          keysFile?: string;
          identitiesFile?: string;
          store?: string;
          table?: string;
          column?: string;
          identity: string;
        },
      ) =>
        withBreachSession("scope", async (s) => {
          const scope = opts.keysFile
            ? { kind: "keys", store: opts.store, table: opts.table, ...(opts.column ? { column: opts.column } : {}), values: linesOf(opts.keysFile) }
            : opts.identitiesFile
              ? { kind: "identities", identity: opts.identity, values: linesOf(opts.identitiesFile) }
              : bodyOf(opts);
          printJson(await scopes().dryRunScope(s, id, scope, opts.by));
        }),
    );

  by(breach.command("freeze").description("store a counted scope's people as the affected set (a worker runs it)").argument("<incident>").argument("<scope>"))
    .option("--wait", "wait until it is frozen or failed", false)
    .option("--timeout <seconds>", "give up waiting after this long", "600")
    .action((id: string, scopeId: string, opts: { by: string; wait: boolean; timeout: string }) =>
      withBreachSession("freeze", async (s) => {
        let view = await scopes().requestFreeze(s, id, scopeId, opts.by);
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (opts.wait && view.state === "freezing" && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          view = await scopes().getScopeView(s.ds, id, scopeId);
        }
        printJson(view);
        if (opts.wait && view.state !== "frozen") process.exitCode = 1;
      }),
    );

  by(withBody(breach.command("notice").description("render and store the next notice version (JSON: texts per locale, …)").argument("<incident>"))).action(
    (id: string, opts: { file?: string; json?: string; by: string }) =>
      withBreachSession("notice", async (s) => {
        const { prepareIncidentNotice } = require("../../incidents/notices") as typeof Notices;
        const n = await prepareIncidentNotice(s.ds, s.dataMap, id, bodyOf(opts), opts.by);
        printJson({ version: n.version, locales: n.locales, fallbackLocale: n.fallback_locale, notices: n.notices });
      }),
  );

  const fanout = () => require("../../incidents/fanout") as typeof Fanout;
  const waiting = (c: Command): Command =>
    c.option("--wait", "show a progress bar until every notice is out", false).option("--timeout <seconds>", "stop watching after this long", "86400");

  by(waiting(breach.command("notify").description("tell every affected person, once (a worker sends)").argument("<incident>")))
    .option("--notice-version <n>", "which notice version (Default: the latest)")
    .action((id: string, opts: { by: string; wait: boolean; timeout: string; noticeVersion?: string }) =>
      withBreachSession("notify", async (s) => {
        let p = await fanout().notifySubjects(s, id, opts.noticeVersion ? { noticeVersion: Number(opts.noticeVersion) } : {}, opts.by);
        if (opts.wait) p = await watch(s, id, Number(opts.timeout));
        printJson(p);
      }),
    );

  by(breach.command("pause").description("pause the notices (e.g. a law-enforcement request to delay)").argument("<incident>"))
    .requiredOption("--reason <text>", "why (kept in the audit log)")
    .action((id: string, opts: { by: string; reason: string }) =>
      withBreachSession("pause", async (s) => printJson(await fanout().pauseNotices(s, id, { reason: opts.reason }, opts.by))),
    );

  by(waiting(breach.command("resume").description("resume paused notices").argument("<incident>"))).action(
    (id: string, opts: { by: string; wait: boolean; timeout: string }) =>
      withBreachSession("resume", async (s) => {
        let p = await fanout().resumeNotices(s, id, opts.by);
        if (opts.wait) p = await watch(s, id, Number(opts.timeout));
        printJson(p);
      }),
  );

  waiting(breach.command("progress").description("sent / pending / undeliverable").argument("<incident>")).action(
    (id: string, opts: { wait: boolean; timeout: string }) =>
      withBreachSession("progress", async (s) => {
        const { requireIncident } = require("../../incidents/register") as typeof Register;
        printJson(opts.wait ? await watch(s, id, Number(opts.timeout)) : await fanout().fanoutProgress(s.ds, s.config, await requireIncident(s.ds, id)));
      }),
  );
}
