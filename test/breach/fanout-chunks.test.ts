import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import type { IncidentView } from "../../src/incidents/incident-view";
import { SEND_NOTICE } from "../../src/queues/jobs/send-notice";
import { NOTICE_CHUNK, noticesJobId, SEND_NOTICES } from "../../src/queues/jobs/send-notices";
import { QUEUES } from "../../src/queues/names";
import type { WorkerHandle } from "../../workers/worker";
import { queryRows } from "../helpers/db";
import { readyToNotify } from "./flow";
import { createBreachHarness, waitForBody, type BreachHarness } from "./support";

const PEOPLE = 250;

/**
 * Notices go out in chunks (`send-notices`, up to {@link NOTICE_CHUNK} people a job). Chunks read
 * at different times may overlap — here a second set of jobs covers every person again, grouped
 * differently — and still each person is claimed once and receives one message: a row is claimed
 * by one send only, and the other chunk finds it taken or final.
 */
describe("breach fan-out in chunks", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;
  let mail: Queue;

  beforeAll(async () => {
    b = await createBreachHarness({ customers: PEOPLE, env: { LETHE_MAIL_CONCURRENCY: "6" } });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
    mail = new Queue(QUEUES.mail, { connection: b.h.redis, prefix: b.h.config.queuePrefix });
  }, 120_000);

  afterAll(async () => {
    await mail?.close();
    await worker?.close();
    await b?.cleanup();
  });

  it("the chunk job's payload holds ids only, at most a chunk of them, and its id follows its content", () => {
    const ids = Array.from({ length: 3 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    const incident = "11111111-1111-4111-8111-111111111111";
    expect(noticesJobId(incident, ids)).toBe(noticesJobId(incident, [...ids]));
    expect(noticesJobId(incident, ids)).not.toBe(noticesJobId(incident, ids.slice(0, 2)));
    expect(noticesJobId(incident, ids)).not.toContain(":");
    expect(() => SEND_NOTICES.parse({ incidentId: incident, notificationIds: ["person1@example.test"] })).toThrow("payload does not match");
    expect(() => SEND_NOTICES.parse({ incidentId: incident, notificationIds: [] })).toThrow("payload does not match");
    const tooMany = Array.from({ length: NOTICE_CHUNK + 1 }, () => ids[0]!);
    expect(() => SEND_NOTICES.parse({ incidentId: incident, notificationIds: tooMany })).toThrow("payload does not match");
  });

  it("overlapping chunks send each person exactly once, with one claim each", async () => {
    const { id } = await readyToNotify(b);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
    // A second, differently grouped set of chunks over the same people (as a re-sync might add).
    const rows = await queryRows<{ id: string }>(b.h.letheDb.url, `SELECT id FROM lethe.notification WHERE incident_id = $1 ORDER BY id DESC`, [id]);
    expect(rows).toHaveLength(PEOPLE);
    for (let i = 0; i < rows.length; i += 70) {
      await SEND_NOTICES.enqueue(mail, b.h.config, { incidentId: id, notificationIds: rows.slice(i, i + 70).map((r) => r.id) });
    }

    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 60_000);
    expect(done.notices).toMatchObject({ total: PEOPLE, sent: PEOPLE, pending: 0, undeliverable: 0, resentInDoubt: 0 });
    const counts = b.sink.countsById();
    expect([...counts.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const claims = await queryRows<{ attempts: number; resent: boolean }>(
      b.h.letheDb.url,
      `SELECT attempts, resent FROM lethe.notification WHERE incident_id = $1`,
      [id],
    );
    expect(claims.every((c) => c.attempts === 1 && !c.resent)).toBe(true);
  }, 120_000);

  it("a legacy one-person job (send-notice, queued before chunks) is a chunk of one: each person once, with or without chunks", async () => {
    const { id } = await readyToNotify(b);
    let rows: Array<{ id: string }> = [];
    // What the legacy jobs themselves sent (each returns its chunk-of-one counts).
    const connection = new Redis(b.h.config.redisUrl, { maxRetriesPerRequest: null });
    const events = new QueueEvents(QUEUES.mail, { connection, prefix: b.h.config.queuePrefix });
    await events.waitUntilReady();
    const legacy = new Map<string, number>();
    events.on("completed", ({ jobId, returnvalue }) => {
      if (!jobId.startsWith("notice-")) return;
      const out = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as { sent?: number } | undefined;
      legacy.set(jobId, out?.sent ?? -1);
    });
    // The mail queue is paused while notify queues its chunks, which are then taken off the queue:
    // the people are left to legacy jobs, as after an upgrade with old jobs still queued.
    await mail.pause();
    try {
      await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
      const queued = async () =>
        (
          await queryRows<{ n: number }>(b.h.letheDb.url, `SELECT count(*)::int AS n FROM lethe.notification WHERE incident_id = $1 AND status = 'queued'`, [
            id,
          ])
        )[0]!.n;
      for (let i = 0; i < 200 && (await queued()) < PEOPLE; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await queued()).toBe(PEOPLE);
      await mail.drain();
      rows = await queryRows<{ id: string }>(b.h.letheDb.url, `SELECT id FROM lethe.notification WHERE incident_id = $1 ORDER BY id`, [id]);
      for (const r of rows) await SEND_NOTICE.enqueue(mail, b.h.config, { notificationId: r.id });
      // The same person's legacy job again is the same job (its id is the notification's).
      await SEND_NOTICE.enqueue(mail, b.h.config, { notificationId: rows[0]!.id });
      expect(() => SEND_NOTICE.parse({ notificationId: "person1@example.test" })).toThrow("payload does not match");
    } finally {
      await mail.resume();
    }

    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 60_000);
    expect(done.notices).toMatchObject({ total: PEOPLE, sent: PEOPLE, pending: 0, undeliverable: 0, resentInDoubt: 0 });
    const counts = b.sink.countsById();
    expect(rows.map((r) => counts.get(r.id))).toEqual(rows.map(() => 1));
    // Every legacy job ran through the notice sender and reported its count (1 sent, or 0 when a
    // re-synced chunk had claimed that person first); most of the people were theirs.
    for (let i = 0; i < 100 && legacy.size < PEOPLE; i++) await new Promise((r) => setTimeout(r, 50));
    await events.close();
    await connection.quit();
    expect(legacy.size).toBe(PEOPLE);
    expect([...legacy.values()].every((n) => n === 0 || n === 1)).toBe(true);
    expect([...legacy.values()].reduce((a, n) => a + n, 0)).toBeGreaterThan(PEOPLE / 2);
    const claims = await queryRows<{ attempts: number }>(b.h.letheDb.url, `SELECT attempts FROM lethe.notification WHERE incident_id = $1`, [id]);
    expect(claims.every((c) => c.attempts === 1)).toBe(true);
  }, 180_000);
});
