import { randomInt } from "node:crypto";
import type { IncidentView } from "../../src/incidents/incident-view";
import type { ScopeView } from "../../src/incidents/scopes";
import type { TsChild } from "../helpers/child-process";
import { killHard } from "../helpers/crash";
import { queryRows } from "../helpers/db";
import { MARKER } from "./fixture";
import { CONTACT, createBreachHarness, HIGH_SEVERITY, NOTICE_TEXTS, waitForBody, type BreachHarness } from "./support";

const PEOPLE = 10_000;
const KILLS = 4;

/**
 * Exactly once under crashes: a fan-out to 10,000 people while the worker (a child process running
 * the mail, breach and maintenance queues) is SIGKILLed at random points and restarted. Every
 * person must end with exactly one notification, sent, received at the sink under its id; no id
 * may be missing. A second copy of an id can only come from the one window SMTP cannot close (the
 * server accepted the message, the worker died before recording it): Lethe flags each such send
 * `resent`, so every extra copy at the sink must be one Lethe knows about.
 */
describe("breach fan-out: SIGKILL at random points, then restart", () => {
  let b: BreachHarness;
  let worker: TsChild;
  const workers: TsChild[] = [];
  const spawnWorker = (): TsChild => {
    const child = b.h.spawn("workers/cli.ts", ["worker", "--queues", "mail,breach,maintenance"]);
    workers.push(child);
    return child;
  };

  beforeAll(async () => {
    b = await createBreachHarness({
      customers: PEOPLE,
      env: { LETHE_LOCK_DURATION_MS: "2000", LETHE_MAIL_CONCURRENCY: "12", LETHE_BACKOFF_MS: "200", LOG_LEVEL: "debug" },
    });
    worker = spawnWorker();
  }, 120_000);

  afterAll(async () => {
    await b?.cleanup();
  });

  it("every person receives their notice, none is skipped, every extra copy is a known in-doubt resend", async () => {
    const now = Date.now();
    const incident = await b.ok<IncidentView>("ops", "POST", "/v1/incidents", {
      title: "Customer table copied",
      description: "A copy of the customer table was found on a public share.",
      kinds: ["confidentiality"],
      detectedAt: new Date(now - 3600_000).toISOString(),
      awareAt: new Date(now - 1800_000).toISOString(),
    });
    const id = incident.id;
    const scope = await b.ok<ScopeView>("ops", "POST", `/v1/incidents/${id}/scopes`, { kind: "rows", store: "app", table: "customers", allRows: true }, 201);
    expect(scope.people).toBe(PEOPLE);
    await b.ok("ops", "POST", `/v1/incidents/${id}/scopes/${scope.id}/freeze`, {}, 202);
    await waitForBody<ScopeView>(b, `/v1/incidents/${id}/scopes/${scope.id}`, (s) => s.state === "frozen", "the scope to be frozen", 120_000);
    await b.ok("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY, 201);
    await b.ok(
      "dpo",
      "POST",
      `/v1/incidents/${id}/decisions`,
      { notifyAuthority: true, notifySubjects: true, rationale: "high risk: the whole customer table" },
      201,
    );
    await b.ok("ops", "POST", `/v1/incidents/${id}/notices`, { texts: NOTICE_TEXTS, contact: CONTACT }, 201);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);

    // Kill the worker at random moments while notices go out, restarting it each time.
    const killedAt: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const target = Math.floor(((k + 1) * PEOPLE) / (KILLS + 2)) + randomInt(0, Math.floor(PEOPLE / (KILLS + 2)));
      await b.sink.waitFor(Math.min(target, PEOPLE - 1), 240_000);
      await new Promise((r) => setTimeout(r, randomInt(0, 40)));
      if (b.sink.messages.length >= PEOPLE) break;
      killedAt.push(b.sink.messages.length);
      await killHard(worker);
      worker = spawnWorker();
    }
    expect(killedAt.length).toBeGreaterThanOrEqual(2);

    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 240_000);
    expect(done.notices).toMatchObject({ total: PEOPLE, sent: PEOPLE, pending: 0, undeliverable: 0 });

    const rows = await queryRows<{ id: string; resent: boolean }>(b.h.letheDb.url, `SELECT id, resent FROM lethe.notification WHERE incident_id = $1`, [id]);
    expect(rows).toHaveLength(PEOPLE);
    const counts = b.sink.countsById();
    // None skipped, none invented: the sink saw exactly the notification ids Postgres holds.
    expect([...counts.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
    // One notice per person: each address received one notification id.
    const idsByAddress = new Map<string, Set<string>>();
    for (const m of b.sink.messages) idsByAddress.set(m.to[0]!, (idsByAddress.get(m.to[0]!) ?? new Set()).add(m.notificationId!));
    expect(idsByAddress.size).toBe(PEOPLE);
    expect([...idsByAddress.values()].every((s) => s.size === 1)).toBe(true);
    // Every extra copy is an in-doubt resend Lethe recorded, at most one per send in flight at a
    // kill. Two kills can fall close together (one run killed at 4,980 and 5,126 messages): a
    // resend in flight at the second is in doubt again, so a notice may reach the sink once more
    // per kill — never more than that.
    const resent = new Set(rows.filter((r) => r.resent).map((r) => r.id));
    const extra = [...counts.entries()].filter(([, n]) => n > 1);
    for (const [nid, n] of extra) {
      expect(resent.has(nid)).toBe(true);
      expect(n).toBeLessThanOrEqual(1 + killedAt.length);
    }
    const extraCopies = extra.reduce((sum, [, n]) => sum + n - 1, 0);
    expect(extraCopies).toBeLessThanOrEqual(killedAt.length * 12);
    expect(done.notices.resentInDoubt).toBe(resent.size);
    process.stdout.write(`kills at ${killedAt.join(", ")}; in-doubt resends ${resent.size}; extra copies at the sink ${extraCopies}\n`);

    // The worker's logs never held a person.
    const logs = workers.map((w) => w.stdout() + w.stderr()).join("\n");
    expect(logs).toContain("notice sent");
    expect(logs).not.toContain(MARKER);
    expect(logs).not.toMatch(/person\d+@example\.test/i);
  }, 600_000);
});
