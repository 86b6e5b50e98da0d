import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Cluster } from "ioredis";
import { seedShop } from "../../demo/seed";
import { createLogger } from "../../src/logger";
import { createQueueConnection } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import type { RequestView } from "../../src/requests/view";
import { freePort } from "../../support/free-port";
import type { WorkerHandle } from "../../workers/worker";
import { startApi, type ApiHandle } from "../../workers/api";
import { TEST_KEYS } from "../helpers/config";
import { SHOP_MAP } from "../helpers/data-maps";
import { startFakeProcessor, type FakeProcessor } from "../helpers/fake-processor";
import { createHarness, startTrackedWorker, type LetheHarness } from "../helpers/harness";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-cluster";
import { startSmtpCatcher, type SmtpCatcher } from "../helpers/smtp";
import { waitFor } from "../helpers/wait";
import { NEVER, query, sweep } from "../retention/helpers";

/**
 * Issue 11, scale-out on a Redis Cluster: a real three-master cluster on loopback carries Lethe's
 * queues (REDIS_CLUSTER_NODES, hash-tagged prefix `{lethe}`): erasure requests (inline stores and
 * a processor's flow), an export mailed to the subject and a retention sweep all run on it. The
 * application's own cache lives on the same cluster as a `cluster: true` redis store, the
 * subject's keys spread over every master, and the erasure finds and removes them on each one.
 */
jest.setTimeout(120_000);

const NOTES = 60;
const CRM_SECRET = "crm-cluster-test-secret-0123456789";

describe("Lethe on a Redis Cluster", () => {
  const P = `t${randomBytes(5).toString("hex")}`;
  let cluster: RedisCluster;
  let smtp: SmtpCatcher;
  let crm: FakeProcessor;
  let h: LetheHarness;
  let api: ApiHandle;
  let worker: WorkerHandle;
  let app: Cluster;
  let exportDir: string;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    smtp = await startSmtpCatcher();
    crm = await startFakeProcessor({ name: "crm", secret: CRM_SECRET, answer: () => ({ status: 200 }) });
    exportDir = mkdtempSync(join(tmpdir(), "lethe-cluster-exports-"));
    const port = await freePort();
    h = await createHarness({
      map: SHOP_MAP,
      prepare: (url) => seedShop(url, { customers: 20 }).then(() => undefined),
      editMap: (raw) => {
        const stores = raw.stores as Record<string, unknown>;
        stores.cache = {
          kind: "redis",
          cluster: true,
          url: "${CACHE_REDIS_URL}",
          keys: [{ pattern: `${P}:session:{id}` }, { pattern: `${P}:note:{id}:*` }, { pattern: `${P}:user:{email}` }],
          hashFields: [{ key: `${P}:profile:{id}`, field: "email" }],
        };
        stores.crm = { kind: "webhook", url: "${CRM_URL}", secret: "${CRM_SECRET}", identities: ["email"] };
        raw.retention = (raw.retention as Array<Record<string, unknown>>).map((p) => ({ ...p, schedule: NEVER }));
      },
      env: {
        REDIS_CLUSTER_NODES: cluster.nodes.join(","),
        LETHE_QUEUE_PREFIX: "{lethe}",
        CACHE_REDIS_URL: cluster.url,
        CRM_URL: crm.url,
        CRM_SECRET,
        SMTP_URL: smtp.url,
        LETHE_EXPORT_DIR: exportDir,
        LETHE_MAIL_FROM: "Example Shop <privacy@shop.example>",
        LETHE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        LETHE_WORKER_CONCURRENCY: "4",
      },
    });
    worker = await startTrackedWorker(h.config, {
      queues: ["erasure", "maintenance", "retention", "export", "mail"],
      dataMap: h.dataMap,
      logger: h.logger,
    });
    api = await startApi({ ...h.config, host: "127.0.0.1", port }, { dataMap: h.dataMap, logger: createLogger("silent"), handleSignals: false });
    app = new Cluster(
      cluster.nodes.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })),
      { redisOptions: { maxRetriesPerRequest: 2 } },
    );
  });

  afterAll(async () => {
    await app?.quit().catch(() => app.disconnect());
    await api?.close();
    await worker?.close();
    await h?.cleanup();
    await crm?.close();
    await smtp?.close();
    await cluster?.stop();
    if (exportDir) rmSync(exportDir, { recursive: true, force: true });
  });

  async function post(body: unknown): Promise<string> {
    const res = await fetch(`${api.url}/v1/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_KEYS.writer}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function finished(id: string): Promise<RequestView> {
    return waitFor(
      async () => {
        const res = await fetch(`${api.url}/v1/requests/${id}`, { headers: { authorization: `Bearer ${TEST_KEYS.writer}` } });
        const view = (await res.json()) as RequestView;
        return view.status === "completed" || view.status === "failed" ? view : undefined;
      },
      `request ${id} to finish`,
      60_000,
      50,
    );
  }

  /** The subject's keys on each master (SCAN of each node), by master; the shared profile hash is looked at apart. */
  async function keysPerMaster(id: number, email: string): Promise<number[]> {
    const out: number[] = [];
    for (const m of cluster.masters) {
      let n = 0;
      for (const match of [`${P}:note:${id}:*`, `${P}:session:${id}`, `${P}:user:${email}`]) {
        for await (const keys of m.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>) n += keys.length;
      }
      out.push(n);
    }
    return out;
  }

  async function seedKeys(id: number, email: string): Promise<void> {
    const writes: Array<Promise<unknown>> = [
      app.set(`${P}:session:${id}`, "s"),
      app.set(`${P}:user:${email}`, String(id)),
      app.hset(`${P}:profile:${id}`, "email", email, "theme", "dark"),
    ];
    for (let i = 0; i < NOTES; i++) writes.push(app.set(`${P}:note:${id}:${i}`, `note ${i}`));
    await Promise.all(writes);
  }

  it("erases subjects whose keys sit on every master; others' keys stay; queues run on the cluster", async () => {
    const customers = await query<{ id: number; email: string }>(h.appDb.url, `SELECT id, email FROM customers ORDER BY id LIMIT 6`);
    for (const c of customers) await seedKeys(c.id, c.email);
    const [first, ...rest] = customers;
    const kept = rest.pop()!;
    // The subject's keys are spread: every master holds some.
    expect((await keysPerMaster(first!.id, first!.email)).every((n) => n > 0)).toBe(true);

    const ids = [await post({ type: "erasure", subject: { id: String(first!.id) } })];
    for (const c of rest) ids.push(await post({ type: "erasure", subject: { id: String(c.id) } }));
    for (const id of ids) expect(await finished(id)).toMatchObject({ status: "completed", error: null });

    const view = await finished(ids[0]!);
    const cache = Object.fromEntries(view.steps.filter((s) => s.store === "cache").map((s) => [s.table, s.rows]));
    expect(cache).toEqual({ [`${P}:session:{id}`]: 1, [`${P}:note:{id}:*`]: NOTES, [`${P}:user:{email}`]: 1, [`hash ${P}:profile:{id} field email`]: 1 });
    for (const c of [first!, ...rest]) {
      expect(await keysPerMaster(c.id, c.email)).toEqual(cluster.masters.map(() => 0));
      expect(crm.records.has(c.email)).toBe(false);
      // The profile hash lost only its email field.
      expect(await app.hgetall(`${P}:profile:${c.id}`)).toEqual({ theme: "dark" });
    }
    const kept$ = await keysPerMaster(kept.id, kept.email);
    expect(kept$.reduce((a, b) => a + b, 0)).toBe(NOTES + 2);
    expect(await app.hgetall(`${P}:profile:${kept.id}`)).toEqual({ email: kept.email, theme: "dark" });
    // Lethe's own queue keys are all in the `{lethe}` slot, on one master.
    const queueKeysPerMaster = await Promise.all(
      cluster.masters.map(async (m) => {
        let n = 0;
        for await (const keys of m.scanStream({ match: "{lethe}:*", count: 1000 }) as AsyncIterable<string[]>) n += keys.length;
        return n;
      }),
    );
    expect(queueKeysPerMaster.filter((n) => n > 0)).toHaveLength(1);
  });

  it("exports a subject and mails the link, on the cluster's queues", async () => {
    const [c] = await query<{ id: number; email: string }>(h.appDb.url, `SELECT id, email FROM customers ORDER BY id DESC LIMIT 1`);
    const before = smtp.messages.length;
    const id = await post({ type: "export", subject: { id: String(c!.id) } });
    expect(await finished(id)).toMatchObject({ status: "completed", error: null, export: { status: "ready" } });
    const [message] = (await smtp.waitForMessages(before + 1)).slice(before);
    expect(message!.to).toEqual([c!.email]);
  });

  it("runs a retention sweep through the cluster's retention queue", async () => {
    await query(
      h.appDb.url,
      `INSERT INTO support_tickets (customer_email, subject, body, opened_at) VALUES ('old@example.com', 'old', 'old', now() - interval '3 years')`,
    );
    const old = `SELECT count(*)::int AS n FROM support_tickets WHERE opened_at < now() - interval '2 years'`;
    expect((await query<{ n: number }>(h.appDb.url, old))[0]!.n).toBeGreaterThan(0);
    const connection = createQueueConnection(h.config, "worker");
    const queue = new Queue(QUEUES.retention, { connection, prefix: h.config.queuePrefix });
    try {
      const run = await sweep(h, queue, "old-support-tickets");
      expect(run.status).toBe("completed");
    } finally {
      await queue.close();
      await connection.quit().catch(() => connection.disconnect());
    }
    expect((await query<{ n: number }>(h.appDb.url, old))[0]!.n).toBe(0);
  });
});
