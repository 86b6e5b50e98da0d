import { verifyAuditChain } from "../../src/audit/log";
import type { IncidentView } from "../../src/incidents/incident-view";
import type { ScopeView } from "../../src/incidents/scopes";
import type { WorkerHandle } from "../../workers/worker";
import { queryRows } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { CONTACT, createBreachHarness, HIGH_SEVERITY, NOTICE_TEXTS, waitForBody, type BreachHarness } from "./support";

const WINDOW = { column: "placed_at", from: "2025-02-10T00:00:00Z", until: "2025-02-13T00:00:00Z" };

describe("breach notification end to end: register, scope, severity, reports, notices, close", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    b = await createBreachHarness({ customers: 60, env: { LETHE_BREACH_CONTACT_WIPE_HOURS: "0" }, sink: { keepRaw: true } });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
  });

  afterAll(async () => {
    await worker?.close();
    await b?.cleanup();
  });

  it("the orders table was exposed between two dates: every affected person is told once, in their language", async () => {
    const now = Date.now();
    const created = await b.ok<IncidentView>("ops", "POST", "/v1/incidents", {
      title: "Orders readable through a debug endpoint",
      description: "A debug endpoint exposed the orders table.",
      kinds: ["confidentiality"],
      detectedAt: new Date(now - 3 * 3600_000).toISOString(),
      awareAt: new Date(now - 2 * 3600_000).toISOString(),
      occurred: { from: WINDOW.from, until: WINDOW.until },
      stores: ["app"],
    });
    expect(created).toMatchObject({ status: "open", clock: { running: true, mark: "running" }, reference: expect.stringMatching(/^BR-\d{4}-\d{4}$/) });
    const id = created.id;

    // Dry run, then freeze.
    const scope = await b.ok<ScopeView>("ops", "POST", `/v1/incidents/${id}/scopes`, { kind: "rows", store: "app", table: "orders", window: WINDOW }, 201);
    const expected = await queryRows<{ id: number; email: string; preferred_language: string | null }>(
      b.h.appDb.url,
      `SELECT DISTINCT c.id, c.email, c.preferred_language FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.placed_at >= $1 AND o.placed_at < $2`,
      [WINDOW.from, WINDOW.until],
    );
    expect(scope).toMatchObject({ state: "draft", people: expected.length, counts: { people: expected.length } });
    expect(Object.keys(scope.counts!.countries!).sort()).toEqual(expect.arrayContaining(["DE"]));
    await b.ok("ops", "POST", `/v1/incidents/${id}/scopes/${scope.id}/freeze`, {}, 202);
    const frozen = await waitForBody<ScopeView>(b, `/v1/incidents/${id}/scopes/${scope.id}`, (s) => s.state === "frozen", "the scope to be frozen");
    expect(frozen.affectedSetSha256).toMatch(/^[0-9a-f]{64}$/);

    // Severity and decision.
    const assessment = await b.ok<{ band: string; score: number }>("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY, 201);
    expect(assessment).toMatchObject({ band: "high", score: 3 * 0.75 + 1 });
    const refused = await b.call("ops", "POST", `/v1/incidents/${id}/decisions`, {
      notifyAuthority: true,
      notifySubjects: true,
      rationale: "high risk to the customers",
    });
    expect(refused.statusCode).toBe(403);
    const deviating = await b.call("dpo", "POST", `/v1/incidents/${id}/decisions`, {
      notifyAuthority: true,
      notifySubjects: false,
      rationale: "we think it is fine to stay silent",
    });
    expect(deviating.statusCode).toBe(400);
    expect(deviating.json().errors).toEqual([expect.objectContaining({ field: "deviationJustification" })]);
    await b.ok(
      "dpo",
      "POST",
      `/v1/incidents/${id}/decisions`,
      { notifyAuthority: true, notifySubjects: true, rationale: "high risk to the customers: card digits and names" },
      201,
    );
    expect((await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${id}`)).status).toBe("assessed");

    // Reports: a draft with the frozen numbers, an initial with gaps, a complete follow-up with its diff.
    const draft = await b.ok<{ nature: { approxSubjects: number; approxRecords: number } }>("ops", "GET", `/v1/incidents/${id}/reports/draft`);
    expect(draft.nature.approxSubjects).toBe(expected.length);
    const initial = { ...draft, contact: CONTACT, consequences: { toFollow: true }, measures: { taken: "Endpoint removed.", proposed: { toFollow: true } } };
    await b.ok("ops", "POST", `/v1/incidents/${id}/reports`, initial, 201);
    const afterInitial = await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${id}`);
    expect(afterInitial).toMatchObject({ status: "authority_notified", late: false, clock: { running: false } });
    const followUp = {
      ...initial,
      kind: "follow_up",
      final: true,
      nature: { ...initial.nature, subjectCategories: ["customers"] },
      consequences: "Phishing attempts are possible.",
      measures: { taken: "Endpoint removed.", proposed: "Audit of debug endpoints." },
    };
    await b.ok("ops", "POST", `/v1/incidents/${id}/reports`, followUp, 201);
    const v2 = await b.ok<{ changes: Array<{ path: string }> }>("ops", "GET", `/v1/incidents/${id}/reports/2`);
    expect(v2.changes.map((c) => c.path)).toEqual(expect.arrayContaining(["final", "nature.subjectCategories", "consequences", "measures.proposed"]));
    const html = await b.call("reader", "GET", `/v1/incidents/${id}/reports/2/html`);
    expect(html.headers["content-type"]).toMatch(/^text\/html/);
    expect(html.body).toContain("Changes since version 1");

    // Notices, then the fan-out.
    await b.ok("ops", "POST", `/v1/incidents/${id}/notices`, { texts: NOTICE_TEXTS }, 201);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
    await b.sink.waitFor(expected.length);
    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.status === "subjects_notified", "the incident to be subjects_notified");
    expect(done.notices).toMatchObject({ state: "done", total: expected.length, sent: expected.length, pending: 0, undeliverable: 0 });
    const counts = b.sink.countsById();
    expect(counts.size).toBe(expected.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const byAddress = new Map(b.sink.messages.map((m) => [m.to[0]!, m]));
    for (const person of expected) {
      const m = byAddress.get(person.email)!;
      expect(m).toBeDefined();
      expect(m.language).toBe(person.preferred_language?.startsWith("de") ? "de" : "en");
    }
    const one = b.sink.messages[0]!.raw;
    expect(one).toMatch(/X-Lethe-Incident: BR-/);
    expect(one).toContain("Content-Type: text/html");

    // Close: the contacts are wiped at the next tick (LETHE_BREACH_CONTACT_WIPE_HOURS=0).
    await b.ok("dpo", "POST", `/v1/incidents/${id}/close`, { status: "closed" });
    await waitFor(
      async () =>
        (await queryRows<{ n: number }>(b.h.letheDb.url, `SELECT count(*)::int AS n FROM lethe.incident_affected WHERE contact IS NOT NULL`))[0]!.n === 0
          ? true
          : undefined,
      "the contacts to be wiped",
    );
    const closed = await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${id}`);
    expect(closed).toMatchObject({ status: "closed", contacts: { wipedAt: expect.any(String) } });

    // The register and its audit trail.
    const csv = await b.call("reader", "GET", "/v1/incidents/export.csv");
    expect(csv.body.split("\r\n")[0]).toMatch(/^reference,id,status,/);
    expect(csv.body).toContain(`${closed.reference},${id},closed,`);
    const audit = await b.ok<{ entries: Array<{ event: string }> }>("reader", "GET", `/v1/incidents/${id}/audit`);
    expect(audit.entries.map((e) => e.event)).toEqual(
      expect.arrayContaining([
        "incident.created",
        "incident.scope_counted",
        "incident.scope_frozen",
        "incident.assessed",
        "incident.decided",
        "incident.reported",
        "incident.notice_prepared",
        "incident.fanout_started",
        "incident.fanout_done",
        "incident.status",
        "incident.contacts_wiped",
      ]),
    );
    await waitFor(async () => ((await verifyAuditChain(b.h.ds)).unsealed === 0 ? true : undefined), "the audit rows to be sealed", 30_000);
    expect((await verifyAuditChain(b.h.ds)).brokenAt).toBeNull();
  });
});
