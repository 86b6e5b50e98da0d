import { Writable } from "node:stream";
import type { IncidentView } from "../../src/incidents/incident-view";
import { breachTick } from "../../src/incidents/tick";
import { createLogger } from "../../src/logger";
import { queryRows } from "../helpers/db";
import { BREACH_KEYS, CONTACT, createBreachHarness, HIGH_SEVERITY, type BreachHarness } from "./support";

const H = 3600_000;

/** An incident the controller became aware of `hoursAgo` hours ago. */
async function incidentAware(b: BreachHarness, hoursAgo: number): Promise<IncidentView> {
  const now = Date.now();
  return b.ok<IncidentView>("ops", "POST", "/v1/incidents", {
    title: `Aware ${hoursAgo} h ago`,
    description: "Laptop with an unencrypted export stolen.",
    kinds: ["confidentiality", "availability"],
    detectedAt: new Date(now - (hoursAgo + 1) * H).toISOString(),
    awareAt: new Date(now - hoursAgo * H).toISOString(),
  });
}

/** An initial report body with gaps ("to follow"). */
const initialWithGaps = (extra: Record<string, unknown> = {}) => ({
  kind: "initial",
  final: false,
  nature: {
    description: "A laptop with an export of the orders was stolen from a car.",
    kinds: ["confidentiality", "availability"],
    occurred: { from: "2025-02-10T18:00:00Z", until: "2025-02-10T19:00:00Z" },
    dataCategories: ["identity", "financial"],
    subjectCategories: { toFollow: true },
    approxSubjects: { toFollow: true, expectedBy: "2025-02-20T00:00:00Z" },
    approxRecords: { toFollow: true },
  },
  contact: CONTACT,
  consequences: { toFollow: true },
  measures: { taken: "Remote wipe requested.", proposed: { toFollow: true } },
  ...extra,
});

describe("breach reports in phases and the 72-hour clock", () => {
  let b: BreachHarness;

  beforeAll(async () => {
    b = await createBreachHarness({ customers: 20 });
  }, 120_000);

  afterAll(async () => {
    await b?.cleanup();
  });

  it("an initial report with gaps, then a follow-up that fills them, shown with its diff", async () => {
    const incident = await incidentAware(b, 2);
    const id = incident.id;
    const first = await b.ok<{ version: number; report: { incidentId: string; awareAt: string } }>(
      "ops",
      "POST",
      `/v1/incidents/${id}/reports`,
      initialWithGaps(),
      201,
    );
    expect(first.version).toBe(1);
    expect(first.report).toMatchObject({ incidentId: incident.reference, awareAt: incident.awareAt });
    // A complete report cannot leave gaps; a version cannot claim its own number or the clock's start.
    const gaps = await b.call("ops", "POST", `/v1/incidents/${id}/reports`, { ...initialWithGaps(), kind: "follow_up", final: true });
    expect(gaps.statusCode).toBe(400);
    expect(gaps.json().errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(["nature.subjectCategories", "nature.approxSubjects", "consequences", "measures.proposed"]),
    );
    const meddling = await b.call("ops", "POST", `/v1/incidents/${id}/reports`, {
      ...initialWithGaps(),
      kind: "follow_up",
      version: 7,
      awareAt: new Date().toISOString(),
    });
    expect(meddling.statusCode).toBe(400);
    expect(
      meddling
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
    ).toEqual(["awareAt", "version"]);

    const complete = initialWithGaps({ kind: "follow_up", final: true });
    const nature = complete.nature as Record<string, unknown>;
    Object.assign(nature, { subjectCategories: ["customers"], approxSubjects: 1200, approxRecords: 3400 });
    Object.assign(complete, {
      consequences: "Fraud attempts are possible.",
      measures: { taken: "Remote wipe done.", proposed: "Full-disk encryption on every laptop." },
    });
    await b.ok("ops", "POST", `/v1/incidents/${id}/reports`, complete, 201);
    const v2 = await b.ok<{ version: number; final: boolean; changes: Array<{ path: string; before?: unknown; after?: unknown }> }>(
      "reader",
      "GET",
      `/v1/incidents/${id}/reports/2`,
    );
    expect(v2).toMatchObject({ version: 2, final: true });
    expect(v2.changes).toEqual(
      expect.arrayContaining([
        { path: "nature.approxSubjects", before: { toFollow: true, expectedBy: "2025-02-20T00:00:00Z" }, after: 1200 },
        { path: "final", before: false, after: true },
        { path: "consequences", before: { toFollow: true }, after: "Fraud attempts are possible." },
      ]),
    );
    const page = await b.call("reader", "GET", `/v1/incidents/${id}/reports/2/html`);
    expect(page.body).toContain("Changes since version 1");
    expect(page.headers["content-security-policy"]).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect((await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${id}`)).late).toBe(false);
  });

  it("a late initial report is refused without the reasons for the delay, and accepted with them", async () => {
    const incident = await incidentAware(b, 80);
    expect(incident.clock).toMatchObject({ mark: "overdue", running: true });
    expect(incident.clock.secondsLeft).toBeLessThan(0);
    const refused = await b.call("ops", "POST", `/v1/incidents/${incident.id}/reports`, initialWithGaps());
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([expect.objectContaining({ field: "delayReasons", message: expect.stringContaining("72 h") })]);
    const view = await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${incident.id}`);
    expect(view.reports.versions).toBe(0);
    await b.ok(
      "ops",
      "POST",
      `/v1/incidents/${incident.id}/reports`,
      initialWithGaps({ delayReasons: "The theft was reported to us by the employee only after a weekend." }),
      201,
    );
    const after = await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${incident.id}`);
    expect(after).toMatchObject({ late: true, clock: { running: false }, reports: { versions: 1 } });
  });

  it("the clock marks 24 h left, 6 h left and overdue once each, in the log, the audit trail and the metrics", async () => {
    const incident = await incidentAware(b, 1);
    const lines: string[] = [];
    const log = createLogger(
      "info",
      new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(chunk.toString("utf8"));
          cb();
        },
      }),
    );
    const aware = Date.parse(incident.awareAt);
    const tick = (hoursAfterAwareness: number) => breachTick(b.services, log, new Date(aware + hoursAfterAwareness * H));
    const marksOf = () =>
      lines
        .map((l) => JSON.parse(l) as { event?: string; mark?: string; reference?: string })
        .filter((l) => l.event === "incident.clock" && l.reference === incident.reference)
        .map((l) => l.mark);
    await tick(10);
    expect(marksOf()).toEqual([]);
    await tick(49);
    await Promise.all([tick(49.5), tick(49.5)]);
    expect(marksOf()).toEqual(["24h_left"]);
    // A tick missed between 49 h and 73 h: both later marks are caught up, in order.
    await tick(73);
    await tick(74);
    expect(marksOf()).toEqual(["24h_left", "6h_left", "overdue"]);
    const audit = await queryRows<{ mark: string }>(
      b.h.letheDb.url,
      `SELECT detail->>'mark' AS mark FROM lethe.audit_log WHERE event = 'incident.clock' AND detail->>'incidentId' = $1 ORDER BY id`,
      [incident.id],
    );
    expect(audit.map((a) => a.mark)).toEqual(["24h_left", "6h_left", "overdue"]);
    const view = await b.ok<IncidentView>("ops", "GET", `/v1/incidents/${incident.id}`);
    expect(view.clock.marksReached).toEqual(["24h_left", "6h_left", "overdue"]);
  });

  it("metrics give the seconds left per running clock and the marks reached", async () => {
    const admin = "breach-admin-key-0000000004";
    const withAdmin = await createBreachHarness({
      customers: 2,
      env: { LETHE_API_KEYS: `ops:${BREACH_KEYS.ops}:incidents.write|incidents.read;dpo:${BREACH_KEYS.dpo}:dpo|incidents.read;admin:${admin}:admin` },
    });
    try {
      const incident = await incidentAware(withAdmin, 50);
      await breachTick(withAdmin.services, createLogger("silent"));
      const res = await withAdmin.api.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${admin}` } });
      expect(res.statusCode).toBe(200);
      const line = res.body.split("\n").find((l) => l.startsWith(`lethe_incident_seconds_left{incident="${incident.reference}"}`));
      const left = Number(line?.split(" ")[1]);
      expect(left).toBeGreaterThan(21 * 3600);
      expect(left).toBeLessThanOrEqual(22 * 3600);
      expect(res.body).toContain('lethe_incident_clock_marks{mark="24h_left"} 1');
      expect(res.body).toContain('lethe_incident_clock_marks{mark="overdue"} 0');
      expect(res.body).toContain('lethe_incidents{status="open"} 1');

      // Once the decision says the authority need not be told, the clock stops running.
      await withAdmin.ok(
        "ops",
        "POST",
        `/v1/incidents/${incident.id}/assessments`,
        {
          ...HIGH_SEVERITY,
          dataCategories: [{ category: "simple", label: "names" }],
          ease: "negligible",
          maliciousIntent: false,
          confidentiality: "known_recipients",
        },
        201,
      );
      await withAdmin.ok(
        "dpo",
        "POST",
        `/v1/incidents/${incident.id}/decisions`,
        { notifyAuthority: false, notifySubjects: false, rationale: "names only, to a known recipient who deleted them" },
        201,
      );
      const view = await withAdmin.ok<IncidentView>("ops", "GET", `/v1/incidents/${incident.id}`);
      expect(view).toMatchObject({ status: "assessed", severity: { band: "low" }, clock: { running: false } });
      const after = await withAdmin.api.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${admin}` } });
      expect(after.body).not.toContain(`lethe_incident_seconds_left{incident="${incident.reference}"}`);
    } finally {
      await withAdmin.cleanup();
    }
  });
});
