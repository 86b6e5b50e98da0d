import { Writable } from "node:stream";
import type { IncidentView } from "../../src/incidents/incident-view";
import { createLogger } from "../../src/logger";
import { QUEUES } from "../../src/queues/names";
import type { WorkerHandle } from "../../workers/worker";
import { queryRows } from "../helpers/db";
import { waitForQueuesIdle } from "../helpers/job-events";
import { MARKER } from "./fixture";
import { readyToNotify } from "./flow";
import { createBreachHarness, waitForBody, type BreachHarness } from "./support";
import { Queue } from "bullmq";

const PEOPLE = 60;
/** Every tenth person's mailbox does not exist (550); person 7's server defers once (451). */
const refusing = () => {
  let deferred = false;
  return (address: string): number | null => {
    const n = Number(/^person(\d+)@/.exec(address)?.[1] ?? -1);
    if (n % 10 === 0) return 550;
    if (n === 7 && !deferred) {
      deferred = true;
      return 451;
    }
    return null;
  };
};

/** Every value under the test's Redis prefix, as text (strings, hashes, lists, sets, sorted sets, streams). */
async function redisDump(b: BreachHarness): Promise<string> {
  const out: string[] = [];
  for (const key of await b.h.prefixKeys()) {
    const type = await b.h.redis.type(key);
    out.push(key);
    if (type === "string") out.push(String(await b.h.redis.get(key)));
    if (type === "hash") out.push(JSON.stringify(await b.h.redis.hgetall(key)));
    if (type === "list") out.push(JSON.stringify(await b.h.redis.lrange(key, 0, -1)));
    if (type === "set") out.push(JSON.stringify(await b.h.redis.smembers(key)));
    if (type === "zset") out.push(JSON.stringify(await b.h.redis.zrange(key, 0, -1)));
    if (type === "stream") out.push(JSON.stringify(await b.h.redis.xrange(key, "-", "+")));
  }
  return out.join("\n");
}

describe("breach fan-out against a real SMTP server: refusals, deferrals, pause, no personal data outside the sealed contacts", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;
  let mail: Queue;
  const logLines: string[] = [];

  beforeAll(async () => {
    const logger = createLogger(
      "debug",
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          logLines.push(chunk.toString("utf8"));
          cb();
        },
      }),
    );
    b = await createBreachHarness({
      customers: PEOPLE,
      env: { LETHE_SMTP_RATE_PER_S: "15", LETHE_JOB_ATTEMPTS: "4", LETHE_BACKOFF_MS: "100" },
      sink: { refuse: refusing() },
      logger,
    });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
    mail = new Queue(QUEUES.mail, { connection: b.h.redis, prefix: b.h.config.queuePrefix });
  }, 120_000);

  afterAll(async () => {
    await mail?.close();
    await worker?.close();
    await b?.cleanup();
  });

  it("5xx marks people undeliverable, a 4xx is retried, pause takes waiting notices off the queue, resume finishes", async () => {
    const { id, people } = await readyToNotify(b);
    expect(people).toBe(PEOPLE);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
    await b.sink.waitFor(8);

    // While notices wait in Redis: nothing personal is there.
    const dump = await redisDump(b);
    expect(dump).toContain("send-notice");
    expect(dump).not.toContain(MARKER);
    expect(dump).not.toMatch(/person\d+@example\.test/i);

    // Pause: the waiting jobs leave the queue; what was being sent finishes; nothing else goes out.
    const paused = await b.ok<{ state: string }>("ops", "POST", `/v1/incidents/${id}/pause`, { reason: "police request to delay (case 2025/17)" });
    expect(paused.state).toBe("paused");
    await waitForQueuesIdle([mail], 30_000);
    const atPause = await b.ok<{ sent: number; pending: number; undeliverable: number }>("ops", "GET", `/v1/incidents/${id}/progress`);
    expect(atPause.pending).toBeGreaterThan(0);
    expect(b.sink.messages.length).toBe(atPause.sent);
    expect(await b.call("ops", "POST", `/v1/incidents/${id}/notify`, {})).toMatchObject({ statusCode: 409 });

    await b.ok("ops", "POST", `/v1/incidents/${id}/resume`, {});
    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 60_000);
    const refused = Array.from({ length: PEOPLE }, (_, i) => i).filter((i) => i % 10 === 0).length;
    expect(done.notices).toMatchObject({ total: PEOPLE, sent: PEOPLE - refused, undeliverable: refused, pending: 0 });
    expect(done.notices.undeliverableShare).toBeCloseTo(refused / PEOPLE);
    expect(done.notices.publicNoticeAdvised).toBe(true);
    expect(done.publicNotice.advisedAt).not.toBeNull();
    expect(done.status).toBe("assessed");

    const undeliverable = await b.ok<{
      notifications: Array<{ status: string; smtpCode: number; smtpResponse: string; errorCode: string; subjectHash: string }>;
    }>("reader", "GET", `/v1/incidents/${id}/notifications?status=undeliverable&limit=1000`);
    expect(undeliverable.notifications).toHaveLength(refused);
    for (const n of undeliverable.notifications) {
      expect(n).toMatchObject({ smtpCode: 550, errorCode: "smtp_rejected", subjectHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(n.smtpResponse).toContain("<address>");
      expect(n.smtpResponse).not.toContain("@");
    }
    const sent = await b.ok<{ notifications: Array<{ smtpCode: number; smtpResponse: string }> }>(
      "reader",
      "GET",
      `/v1/incidents/${id}/notifications?status=sent&limit=1000`,
    );
    expect(sent.notifications.every((n) => n.smtpCode === 250)).toBe(true);
    // Person 7's server deferred once: retried, sent, once.
    const to7 = b.sink.messages.filter((m) => m.to[0] === "person7@example.test");
    expect(to7).toHaveLength(1);
    expect([...b.sink.countsById().values()].every((n) => n === 1)).toBe(true);

    // The audit trail names pause and resume with the reason; no personal value anywhere in it or in the logs.
    const audit = await queryRows<{ event: string; detail: Record<string, unknown> }>(b.h.letheDb.url, `SELECT event, detail FROM lethe.audit_log ORDER BY id`);
    expect(audit.find((a) => a.event === "incident.fanout_paused")?.detail).toMatchObject({ reason: "police request to delay (case 2025/17)" });
    expect(audit.some((a) => a.event === "incident.fanout_resumed")).toBe(true);
    expect(audit.some((a) => a.event === "incident.public_notice_advised")).toBe(true);
    const auditText = JSON.stringify(audit);
    expect(auditText).not.toContain(MARKER);
    expect(auditText).not.toMatch(/person\d+@example\.test/i);
    const logs = logLines.join("");
    expect(logs).toContain("notice sent");
    expect(logs).not.toContain(MARKER);
    expect(logs).not.toMatch(/person\d+@example\.test/i);
    // The sealed contacts hold no address in clear.
    const sealed = await queryRows<{ hex: string }>(
      b.h.letheDb.url,
      `SELECT encode(contact, 'escape') AS hex FROM lethe.incident_affected WHERE contact IS NOT NULL`,
    );
    expect(sealed).toHaveLength(PEOPLE);
    expect(sealed.some((r) => r.hex.includes("example.test"))).toBe(false);
    const everyTable = await queryRows<{ t: string }>(
      b.h.letheDb.url,
      `SELECT string_agg(x::text, ' ') AS t FROM (SELECT row_to_json(n)::text AS x FROM lethe.notification n UNION ALL SELECT row_to_json(s)::text FROM (SELECT id, summary, counts FROM lethe.incident_scope) s UNION ALL SELECT row_to_json(i)::text FROM lethe.incident i) z`,
    );
    expect(everyTable[0]!.t).not.toMatch(/person\d+@example\.test|ZZMARKERQQ/i);
  }, 180_000);
});

describe("breach fan-out: a throttling answer slows the queue and uses up no attempt", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    b = await createBreachHarness({
      customers: 12,
      env: { LETHE_JOB_ATTEMPTS: "1", LETHE_SMTP_THROTTLE_MS: "300" },
      sink: { throttleFirst: 5 },
    });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await b?.cleanup();
  });

  it("with one attempt per job, five 421 answers still end with every notice sent once", async () => {
    const { id, people } = await readyToNotify(b);
    await b.ok("ops", "POST", `/v1/incidents/${id}/notify`, {}, 202);
    const done = await waitForBody<IncidentView>(b, `/v1/incidents/${id}`, (v) => v.notices.state === "done", "every notice to be out", 60_000);
    expect(b.sink.throttled).toBe(5);
    expect(done.notices).toMatchObject({ total: people, sent: people, undeliverable: 0 });
    expect(b.sink.messages).toHaveLength(people);
    const rows = await queryRows<{ attempts: number; error_code: string | null }>(b.h.letheDb.url, `SELECT attempts, error_code FROM lethe.notification`);
    // The throttled sends claimed their row more than once; none failed, although each job had a single attempt.
    expect(rows.reduce((a, r) => a + r.attempts, 0)).toBe(people + 5);
    expect(rows.every((r) => r.error_code === null)).toBe(true);
  }, 120_000);
});
