import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { createLogger } from "../../src/logger";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";

/**
 * No personal data inside Lethe: a marker that every personal value of the subjects carries
 * (and that the failing request's id carries) must appear nowhere Lethe writes — logs, Redis,
 * job payloads and return values, its own tables, error messages.
 */

/** Every key under `prefix` with its contents, read with the command its type needs. */
async function dumpRedis(redis: Redis, keys: string[]): Promise<Array<{ key: string; type: string; value: unknown }>> {
  const out: Array<{ key: string; type: string; value: unknown }> = [];
  for (const key of keys) {
    const type = await redis.type(key);
    let value: unknown;
    switch (type) {
      case "string":
        value = await redis.get(key);
        break;
      case "hash":
        value = await redis.hgetall(key);
        break;
      case "list":
        value = await redis.lrange(key, 0, -1);
        break;
      case "set":
        value = await redis.smembers(key);
        break;
      case "zset":
        value = await redis.zrange(key, 0, -1, "WITHSCORES");
        break;
      case "stream":
        value = await redis.xrange(key, "-", "+");
        break;
      case "none":
        continue; // expired between SCAN and now
      default:
        throw new Error(`unexpected Redis type ${type} of ${key}`);
    }
    out.push({ key, type, value });
  }
  return out;
}

describe("personal data never leaves the application's stores", () => {
  let h: LetheHarness;
  const lines: string[] = [];
  const marker = `piimark${randomBytes(5).toString("hex")}`;
  const ids = { erase: 0, preview: 0 };

  beforeAll(async () => {
    const sink = { write: (msg: string) => void lines.push(msg) };
    h = await createHarness({
      map: SHOP_MAP,
      logger: createLogger("debug", sink),
      prepare: async (url) => {
        await seedShop(url, { customers: 30 });
        ids.erase = await seedMarkedCustomer(url, `${marker}-erase`);
        ids.preview = await seedMarkedCustomer(url, `${marker}-preview`);
      },
    });
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("after an erasure, a preview, a miss and a failure: no trace of the subjects in logs, Redis, jobs or Lethe's tables", async () => {
    const erase = await h.submit({ email: `${marker}-erase@example.com` });
    const preview = await h.submit({ email: `${marker}-preview@example.com` }, { dryRun: true });
    const miss = await h.submit({ email: `${marker}-nobody@example.com` });
    // Not an integer: Postgres's own message would quote the value ("invalid input syntax for type integer: …").
    const fail = await h.submit({ id: `${marker}-fail` });
    const all = [erase, preview, miss, fail].map((r) => r.request.id);
    const views = await Promise.all(all.map((id) => h.waitForStatus(id, ["completed", "failed"])));
    expect(views.map((v) => v.status)).toEqual(["completed", "completed", "completed", "failed"]);
    expect(views[0]!.steps.find((s) => s.table === "customers")).toMatchObject({ action: "delete", rows: 1 });
    expect(views[1]!.steps.find((s) => s.table === "customers")).toMatchObject({ action: "delete", rows: 1 });
    expect(views[3]!.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    // Jobs settle just after the request row does.
    const jobs = await waitFor(async () => {
      const list = await h.erasureQueue.getJobs(["completed", "failed", "active", "waiting", "delayed", "waiting-children", "prioritized"]);
      const settled = list.filter((j) => j.finishedOn !== undefined);
      return settled.length === list.length && list.length >= 4 ? list : undefined;
    }, "every erasure job to settle");

    const hay = (s: string) => s.toLowerCase();
    const needle = marker.toLowerCase();
    const hexNeedle = Buffer.from(marker).toString("hex");

    // Logs: there are some, naming requests by id, and none names the subject.
    const log = lines.join("");
    expect(log).toContain(erase.request.id);
    expect(log).toContain(fail.request.id);
    expect(lines.length).toBeGreaterThan(3);
    expect(hay(log)).not.toContain(needle);

    // Job payloads, return values, failure reasons and stack traces.
    const jobText = JSON.stringify(
      jobs.map((j) => ({
        id: j.id,
        name: j.name,
        data: j.data as unknown,
        returnvalue: j.returnvalue as unknown,
        failedReason: j.failedReason,
        stacktrace: j.stacktrace,
      })),
    );
    for (const j of jobs) expect(Object.keys(j.data as object).sort()).toEqual(j.name === "erase-store" ? ["requestId", "store"] : ["requestId"]);
    expect(jobs.some((j) => j.failedReason && j.failedReason.length > 0)).toBe(true);
    expect(hay(jobText)).not.toContain(needle);

    // Every Redis key of the test's prefix, whatever its type.
    const dump = JSON.stringify(await dumpRedis(h.redis, await h.prefixKeys()));
    expect(dump).toContain(erase.request.id);
    expect(hay(dump)).not.toContain(needle);
    expect(dump).not.toContain(hexNeedle);

    // Lethe's own tables, every row and column (bytea shows as hex).
    const tables = (await h.ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'lethe' ORDER BY 1`)) as Array<{ tablename: string }>;
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(["subject_request", "request_step", "request_store", "audit_log"]));
    let rows = 0;
    for (const { tablename } of tables) {
      const dumped = (await h.ds.query(`SELECT row_to_json(t)::text AS j FROM lethe."${tablename}" t`)) as Array<{ j: string }>;
      rows += dumped.length;
      for (const { j } of dumped) {
        expect(hay(j)).not.toContain(needle);
        expect(j).not.toContain(hexNeedle);
      }
    }
    expect(rows).toBeGreaterThan(10);

    // Identities are wiped when a request completes; the failed one keeps them sealed (for a retry), never in clear.
    const reqs = (await h.ds.query(`SELECT id, status, identities, error_message FROM lethe.subject_request WHERE id = ANY($1)`, [all])) as Array<{
      id: string;
      status: string;
      identities: Buffer | null;
      error_message: string | null;
    }>;
    for (const r of reqs.filter((x) => x.status === "completed")) expect(r.identities).toBeNull();
    const failed = reqs.find((r) => r.id === fail.request.id)!;
    expect(failed.identities?.includes(Buffer.from(marker))).not.toBe(true);
    expect(failed.error_message).toBeTruthy();
    expect(hay(failed.error_message!)).not.toContain(needle);

    // The audit log names the subjects by keyed hash only.
    const audit = (await h.ds.query(`SELECT event, subject_hash, detail::text AS detail FROM lethe.audit_log WHERE request_id = ANY($1)`, [all])) as Array<{
      event: string;
      subject_hash: string;
      detail: string;
    }>;
    expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(["erasure.completed", "erasure.previewed", "request.failed"]));
    for (const a of audit) expect(a.subject_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
