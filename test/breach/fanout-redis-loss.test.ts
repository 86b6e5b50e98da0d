import type { IncidentView } from "../../src/incidents/incident-view";
import type { WorkerHandle } from "../../workers/worker";
import { queryRows } from "../helpers/db";
import { readyToNotify } from "./flow";
import { createBreachHarness, waitForBody, type BreachHarness } from "./support";

const PEOPLE = 300;

/**
 * Redis is transport: losing every key of the queues in the middle of a fan-out loses nothing.
 * The reconciler sees more pending notifications in Postgres than jobs in the mail queue and
 * syncs the fan-out again; nobody is skipped and nobody gets a second copy.
 */
describe("breach fan-out: the queue's Redis keys are lost mid fan-out", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    b = await createBreachHarness({ customers: PEOPLE, env: { LETHE_SMTP_RATE_PER_S: "60", LETHE_RECONCILE_EVERY_MS: "300" } });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await b?.cleanup();
  });

  it("the reconciler finishes it: every person exactly once", async () => {
    const { id } = await readyToNotify(b);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
    await b.sink.waitFor(40);
    // Notice jobs (a chunk of up to 100 people each) wait in Redis when its keys go.
    expect((await b.h.prefixKeys()).some((k) => /:notices-[0-9a-f]+$/.test(k))).toBe(true);
    const lost = await b.h.deletePrefixKeys();
    expect(lost).toBeGreaterThan(0);
    const before = await b.ok<{ pending: number }>("ops", "GET", `/v1/incidents/${id}/progress`);
    expect(before.pending).toBeGreaterThan(0);

    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 120_000);
    expect(done.notices).toMatchObject({ total: PEOPLE, sent: PEOPLE, pending: 0 });
    const rows = await queryRows<{ id: string }>(b.h.letheDb.url, `SELECT id FROM lethe.notification WHERE incident_id = $1`, [id]);
    const counts = b.sink.countsById();
    expect([...counts.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 180_000);
});
