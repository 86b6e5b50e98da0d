import { Client } from "pg";
import type { IncidentView } from "../src/incidents/incident-view";
import type { FanoutProgress } from "../src/incidents/fanout";
import type { ScopeView } from "../src/incidents/scopes";
import type { DemoContext } from "./context";
import { catcherOf } from "./smtp-catcher";

const TEXTS = {
  en: {
    summary: "A misconfigured reporting tool let anyone with its address read part of our orders table.",
    dataCategories: "your name, e-mail address and postal address as written on your orders",
    consequences: "Someone could send you messages that look like they come from us (phishing).",
    measures: "We switched the tool off, closed the address and checked who accessed it.",
    advice: "Be careful with messages about your orders that ask you to pay or to log in; we never ask for your password.",
  },
};

/** Polls `fn` until `done`, at most `ms`. */
async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The breach section of `npm run demo`: "the orders table was exposed between two dates". An
 * incident in the register, a scope over the orders placed in the window (the dry run's counts:
 * people, records, data categories), frozen; severity and the decision; an initial report with
 * gaps; the notice; every affected customer told once — the notices arriving at the SMTP catcher.
 */
export async function runBreachDemo(ctx: DemoContext): Promise<void> {
  const { print } = ctx;
  const api = ctx.adminApi;
  const caught = await catcherOf(ctx);
  const window = await (async () => {
    const db = new Client({ connectionString: ctx.shopUrl });
    await db.connect();
    try {
      const r = await db.query<{ from: Date; until: Date }>(
        `SELECT percentile_disc(0.40) WITHIN GROUP (ORDER BY placed_at) AS from, percentile_disc(0.43) WITHIN GROUP (ORDER BY placed_at) AS until FROM public.orders`,
      );
      return { from: r.rows[0]!.from.toISOString(), until: r.rows[0]!.until.toISOString() };
    } finally {
      await db.end();
    }
  })();
  const id = (path: string) => `/v1/incidents/${incident.id}${path}`;
  const post = async <T>(path: string, body: unknown) => (await api.call<T>("POST", path, { body })).data;
  const get = async <T>(path: string) => (await api.call<T>("GET", path)).data;

  print.section(`Breach: the orders table was exposed between ${window.from.slice(0, 10)} and ${window.until.slice(0, 10)}`);
  const now = Date.now();
  const incident = await post<IncidentView>("/v1/incidents", {
    title: "Orders readable through a reporting tool",
    description: "A reporting tool exposed the orders table to anyone with its address.",
    kinds: ["confidentiality"],
    detectedAt: new Date(now - 6 * 3600_000).toISOString(),
    awareAt: new Date(now - 5 * 3600_000).toISOString(),
    occurred: window,
    stores: ["shop"],
  });
  print.keyValues([
    ["incident", `${incident.reference} (${incident.status}), POST /v1/incidents`],
    ["72-hour clock", `deadline ${incident.clock.deadline}, ${Math.floor(incident.clock.secondsLeft / 3600)} h left`],
  ]);

  const scope = await post<ScopeView>(id("/scopes"), { kind: "rows", store: "shop", table: "orders", window: { column: "placed_at", ...window } });
  print.heading(`Dry run of the scope (${scope.summary}): counted through the data map, nothing copied`);
  print.keyValues([
    ["people", scope.people],
    [
      "records",
      Object.entries(scope.counts!.records)
        .map(([t, n]) => `${t}: ${n}`)
        .join(", "),
    ],
    [
      "data categories",
      Object.entries(scope.counts!.categories)
        .map(([c, v]) => `${c} (${v.records} records, ${v.people} people)`)
        .join(", "),
    ],
    ["without an e-mail address", scope.counts!.peopleWithoutContact],
  ]);
  await post(id(`/scopes/${scope.id}/freeze`), {});
  const frozen = await until(
    () => get<ScopeView>(id(`/scopes/${scope.id}`)),
    (s) => s.state !== "freezing",
    30_000,
    "the scope to be frozen",
  );
  if (frozen.state !== "frozen") throw new Error(`the scope ended ${frozen.state}`);
  print.line(
    `frozen: ${frozen.people} people stored by keyed hash, contacts sealed; affected set sha256 ${frozen.affectedSetSha256!.slice(0, 16)}… in the audit chain`,
    2,
  );

  const assessment = await post<{ score: number; band: string; method: string }>(id("/assessments"), {
    dataCategories: [
      {
        category: "simple",
        label: "orders: names, e-mail and postal addresses",
        adjustments: [{ factor: "volume", delta: 1, reason: "hundreds of customers" }],
      },
    ],
    ease: "maximum",
    confidentiality: "unknown_recipients",
    integrity: "not_affected",
    availability: "not_affected",
    // The access log shows a crawler that downloaded the whole report.
    maliciousIntent: true,
  });
  await post(id("/decisions"), {
    notifyAuthority: true,
    notifySubjects: true,
    rationale: "names with addresses to unknown recipients: a high risk of phishing",
  });
  print.heading("Severity and decision");
  print.keyValues([
    ["severity", `${assessment.score} (${assessment.band}), method ${assessment.method}`],
    ["decision", "tell the supervisory authority and every affected customer"],
  ]);

  const draft = await get<Record<string, unknown>>(id("/reports/draft"));
  const report = await post<{ version: number; incident: IncidentView }>(id("/reports"), {
    ...draft,
    contact: { name: "Data Protection Officer", email: "dpo@shop.example" },
    consequences: { toFollow: true },
    measures: { taken: "The reporting tool was switched off.", proposed: { toFollow: true } },
  });
  print.heading(`Initial report to the authority (Art. 33(3)), version ${report.version}: GET ${id("/reports/1/html")}`);
  const nature = draft.nature as { approxSubjects: number; approxRecords: number; dataCategories: string[] };
  print.keyValues([
    ["approximate people / records", `${nature.approxSubjects} / ${nature.approxRecords} (from the frozen scope)`],
    ["data categories", nature.dataCategories.join(", ")],
    ["to follow", "likely consequences, proposed measures"],
    ["status", `${report.incident.status}, in time: ${report.incident.late === false ? "yes" : "no"}`],
  ]);

  await post(id("/notices"), { texts: TEXTS, controllerName: "Demo Shop" });
  const before = caught.length;
  await post(id("/notify"), {});
  const progress = await until(
    () => get<FanoutProgress>(id("/progress")),
    (p) => p.state === "done",
    60_000,
    "every notice to be out",
  );
  const mine = caught.slice(before);
  const ids = new Set(mine.map((m) => /^X-Lethe-Notification-Id: (\S+)/im.exec(m.raw)?.[1]));
  print.heading("Notices (Art. 34): one per person, sent through the mail queue");
  print.keyValues([
    ["progress", `${progress.sent} sent, ${progress.pending} pending, ${progress.undeliverable} undeliverable`],
    ["at the SMTP catcher", `${mine.length} messages, ${ids.size} distinct notification ids, ${new Set(mine.map((m) => m.to[0])).size} recipients`],
  ]);
  if (mine.length !== frozen.people || ids.size !== frozen.people)
    throw new Error(`expected ${frozen.people} notices, the catcher has ${mine.length} (${ids.size} ids)`);
  // Customers the retention section anonymized keep a masked address (…@erased.invalid): show a real one.
  const shown = mine.find((m) => !m.to[0]!.endsWith(".invalid")) ?? mine[0]!;
  const first = shown.raw;
  const header = (name: string) => new RegExp(`^${name}: (.+)$`, "im").exec(first)?.[1];
  print.heading("One of them:");
  print.keyValues([
    ["To", shown.to.join(", ")],
    ["Subject", header("Subject")],
    ["X-Lethe-Notification-Id", header("X-Lethe-Notification-Id")],
    ["X-Lethe-Incident", header("X-Lethe-Incident")],
  ]);
  const view = await get<IncidentView>(id(""));
  print.line();
  print.line(`incident ${view.reference}: ${view.status}; the register keeps it, exported at GET /v1/incidents/export.csv`, 2);
}
