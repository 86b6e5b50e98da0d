import { LetheApiError, LetheClient } from "../../src/index";
import { startApi, type ApiHandle } from "../../workers/api";
import type { WorkerHandle } from "../../workers/worker";
import { BREACH_KEYS, CONTACT, createBreachHarness, HIGH_SEVERITY, NOTICE_TEXTS, type BreachHarness } from "./support";

describe("LetheClient.incidents against a running API and worker", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;
  let api: ApiHandle;
  let ops: LetheClient;
  let dpo: LetheClient;

  beforeAll(async () => {
    b = await createBreachHarness({ customers: 25, env: { PORT: "0" } });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
    api = await startApi(b.h.config, { dataMap: b.h.dataMap, logger: b.h.logger, handleSignals: false });
    ops = new LetheClient({ baseUrl: api.url, apiKey: BREACH_KEYS.ops });
    dpo = new LetheClient({ baseUrl: api.url, apiKey: BREACH_KEYS.dpo });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await b?.cleanup();
  });

  it("walks an incident from creation to every notice out, with typed errors", async () => {
    const now = Date.now();
    const incident = await ops.incidents.create({
      title: "Newsletter list exposed",
      description: "The newsletter list was readable.",
      kinds: ["confidentiality"],
      detectedAt: new Date(now - 7200_000).toISOString(),
      awareAt: new Date(now - 3600_000).toISOString(),
    });
    const scope = await ops.incidents.dryRunScope(incident.id, {
      kind: "identities",
      identity: "email",
      values: ["PERSON1@example.test", "person2@example.test "],
    });
    expect(scope.people).toBe(2);
    await ops.incidents.freezeScope(incident.id, scope.id);
    expect(await ops.incidents.waitForScope(incident.id, scope.id, { timeoutMs: 60_000, intervalMs: 100 })).toMatchObject({ state: "frozen", people: 2 });
    await ops.incidents.assess(incident.id, HIGH_SEVERITY);
    const denied = await ops.incidents
      .decide(incident.id, { notifyAuthority: true, notifySubjects: true, rationale: "names and addresses" })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(LetheApiError);
    expect((denied as LetheApiError).status).toBe(403);
    await dpo.incidents.decide(incident.id, { notifyAuthority: true, notifySubjects: true, rationale: "names and addresses" });
    await ops.incidents.prepareNotice(incident.id, { texts: NOTICE_TEXTS, contact: CONTACT });
    expect((await ops.incidents.getNotice(incident.id, 1, "de")).subject).toContain("Verletzung");
    await ops.incidents.notify(incident.id);
    const readings: number[] = [];
    const done = await ops.incidents.waitForNotices(incident.id, { timeoutMs: 60_000, intervalMs: 100, onProgress: (p) => readings.push(p.sent) });
    expect(done).toMatchObject({ state: "done", sent: 2, pending: 0 });
    expect(readings.at(-1)).toBe(2);
    const page = await ops.incidents.notifications(incident.id, { status: "sent" });
    expect(page.notifications).toHaveLength(2);
    expect((await ops.incidents.exportCsv()).split("\r\n")[1]).toContain(incident.reference);
    expect((await ops.incidents.get(incident.reference)).notices.sent).toBe(2);
    const missing = await ops.incidents.get("BR-1999-0001").catch((e: unknown) => e);
    expect((missing as LetheApiError).status).toBe(404);
  }, 120_000);
});
