import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/http/server";
import type { RetentionRunView } from "../../src/retention/runs";
import { syncSchedules } from "../../src/retention/schedules";
import { TEST_KEYS } from "../helpers/config";
import { runSql } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";
import { bearer, expectProblem } from "../http/harness";
import { NEVER, retentionQueue, waitForRun } from "./helpers";

/**
 * Scheduling with two workers against one Redis: one scheduler per policy, one run per tick,
 * runs never overlap; the HTTP trigger is refused (409) while a run of the policy is active.
 */
const DATA_MAP = {
  version: 1,
  subject: { store: "app", table: "members", key: "id", identities: {} },
  stores: {
    app: {
      kind: "postgres",
      url: "${SCHED_DATABASE_URL}",
      tables: { members: { action: "anonymize", fields: { full_name: { category: "identity", mask: "token" } } } },
    },
  },
  retention: [
    // Every second (6-field cron, seconds first).
    {
      name: "tick",
      store: "app",
      table: "members",
      age: { column: "seen_at", olderThan: "P1Y" },
      action: "anonymize",
      schedule: { cron: "* * * * * *", tz: "Europe/Berlin" },
      purpose: "test",
      legalBasis: "Art. 6(1)(b)",
    },
    // One row per batch: slow enough to trigger during it.
    {
      name: "slow",
      store: "app",
      table: "members",
      age: { column: "seen_at", olderThan: "P1Y" },
      action: "anonymize",
      batchSize: 1,
      schedule: NEVER,
      purpose: "test",
      legalBasis: "Art. 6(1)(b)",
    },
  ],
};

const SCHEMA = `CREATE TABLE members (id int PRIMARY KEY, full_name text NOT NULL, seen_at timestamptz NOT NULL);
  INSERT INTO members SELECT g, 'Member ' || g, now() - (g % 3) * interval '300 days' FROM generate_series(1, 3000) g;`;

interface RunRow {
  id: string;
  policy: string;
  trigger: string;
  job_id: string;
  status: string;
  started_at: Date | null;
  finished_at: Date | null;
}

describe("retention schedules and the trigger API", () => {
  let h: LetheHarness;
  let dir: string;
  let queue: Queue;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-sched-"));
    const path = join(dir, "lethe.config.json");
    writeFileSync(path, JSON.stringify(DATA_MAP));
    h = await createHarness({
      map: { path, urlVar: "SCHED_DATABASE_URL" },
      prepare: (url) => runSql(url, SCHEMA),
      env: { LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read;ro:${TEST_KEYS.reader}:requests.read`, LETHE_RECONCILE_EVERY_MS: "60000" },
    });
    queue = retentionQueue(h);
    app = await buildServer({
      ds: h.ds,
      config: h.config,
      dataMap: h.dataMap,
      queues: { erasure: h.erasureQueue, maintenance: h.maintenanceQueue },
      redis: h.redis,
      logger: h.logger,
    });
  });

  afterAll(async () => {
    await app?.close();
    await queue?.close();
    await h?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("two workers, one schedule: the policy runs once per tick and runs never overlap", async () => {
    await h.startWorker({ queues: ["retention"] });
    await h.startWorker({ queues: ["retention"] });
    const schedulers = await queue.getJobSchedulers(0, -1);
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    expect(schedulers.map((s) => ({ key: s.key, pattern: s.pattern, tz: s.tz })).sort(byKey)).toEqual([
      { key: "retention-slow", pattern: NEVER.cron, tz: "UTC" },
      { key: "retention-tick", pattern: "* * * * * *", tz: "Europe/Berlin" },
    ]);
    const started = Date.now();
    const runs = await waitFor(
      async () => {
        const rows = (await h.ds.query(`SELECT * FROM lethe.retention_run WHERE policy = 'tick' AND status = 'completed' ORDER BY started_at`)) as RunRow[];
        return rows.length >= 4 ? rows : undefined;
      },
      "four scheduled runs",
      120_000,
    );
    const elapsed = Date.now() - started;
    expect(runs.every((r) => r.trigger === "schedule")).toBe(true);
    // One run per tick: each scheduled job (one per tick) made exactly one run, and the ticks are a second apart.
    const ticks = runs.map((r) => Number(/^repeat:retention-tick:(\d+)$/.exec(r.job_id)?.[1]));
    expect(new Set(ticks).size).toBe(runs.length);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(1000);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 2);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.started_at!.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finished_at!.getTime());
    // Still one scheduler after both workers upserted (again).
    expect((await queue.getJobSchedulers(0, -1)).filter((s) => s.key === "retention-tick")).toHaveLength(1);
  }, 180_000);

  it("POST /v1/retention/:policy/runs starts a run; a second trigger while it runs is a 409 problem", async () => {
    const res = await app.inject({ method: "POST", url: "/v1/retention/slow/runs", headers: bearer(TEST_KEYS.writer), payload: {} });
    expect(res.statusCode).toBe(202);
    const run = res.json<RetentionRunView>();
    expect(res.headers.location).toBe(`/v1/retention/runs/${run.id}`);
    expect(run).toMatchObject({ policy: "slow", status: "queued", dryRun: false, trigger: "manual", requestedBy: "app" });
    // Under load the worker may still be busy with a scheduled "tick" run: wait generously.
    await waitForRun(h, run.id, ["running"], 120_000);

    const again = await app.inject({ method: "POST", url: "/v1/retention/slow/runs", headers: bearer(TEST_KEYS.writer), payload: { dryRun: true } });
    const problem = expectProblem(again, 409);
    expect(problem).toMatchObject({ type: "urn:lethe:problem:run-in-progress", activeRunId: run.id });
    const active = (await h.ds.query(`SELECT count(*)::int AS n FROM lethe.retention_run WHERE policy = 'slow'`)) as Array<{ n: number }>;
    expect(active[0]!.n).toBe(1);

    const view = await app.inject({ method: "GET", url: `/v1/retention/runs/${run.id}`, headers: bearer(TEST_KEYS.reader) });
    expect(view.statusCode).toBe(200);
    expect(view.json<RetentionRunView>()).toMatchObject({ id: run.id, status: "running" });

    // 3000 one-row batches: minutes on a loaded machine, so the bound is generous (no timing is asserted).
    const done = await waitForRun(h, run.id, ["completed", "failed"], 400_000);
    // One due row per batch (batches are bounded by due rows): the 1000 members seen 600 days ago.
    expect(done).toMatchObject({ status: "completed", batches: 1000 });
    const after = await app.inject({ method: "POST", url: "/v1/retention/slow/runs", headers: bearer(TEST_KEYS.writer), payload: { dryRun: true } });
    expect(after.statusCode).toBe(202);
    const dry = await waitForRun(h, after.json<RetentionRunView>().id, ["completed", "failed"], 400_000);
    expect(dry).toMatchObject({ status: "completed", dryRun: true, rows: { changed: 0 } });
  }, 1_000_000);

  it("answers problems: 404 unknown policy or run, 403 without requests.write, 400 bad body, 401 without a key", async () => {
    expect(
      expectProblem(await app.inject({ method: "POST", url: "/v1/retention/nope/runs", headers: bearer(TEST_KEYS.writer), payload: {} }), 404).detail,
    ).toContain('"nope"');
    expectProblem(await app.inject({ method: "GET", url: "/v1/retention/runs/00000000-0000-4000-8000-000000000000", headers: bearer(TEST_KEYS.reader) }), 404);
    expectProblem(await app.inject({ method: "GET", url: "/v1/retention/runs/not-a-uuid", headers: bearer(TEST_KEYS.reader) }), 404);
    expectProblem(await app.inject({ method: "POST", url: "/v1/retention/slow/runs", headers: bearer(TEST_KEYS.reader), payload: {} }), 403);
    const bad = expectProblem(
      await app.inject({ method: "POST", url: "/v1/retention/slow/runs", headers: bearer(TEST_KEYS.writer), payload: { dryRun: "yes", extra: 1 } }),
      400,
    );
    expect(bad.errors).toEqual([
      { field: "dryRun", message: "must be true or false" },
      { field: "extra", message: "unknown field" },
    ]);
    expectProblem(await app.inject({ method: "POST", url: "/v1/retention/slow/runs", payload: {} }), 401);
  });

  it("a policy that leaves the data map loses its scheduler; so does any stray one", async () => {
    // The workers re-sync the full map only every reconcile interval (a minute here).
    await queue.upsertJobScheduler("retention-ghost", { pattern: "0 0 1 1 *" }, { name: "retention-sweep", data: { policy: "ghost" } });
    const withoutTick = { ...h.dataMap, retention: h.dataMap.retention.filter((p) => p.name !== "tick") };
    const synced = await syncSchedules(queue, withoutTick, h.config);
    expect(synced).toEqual({ upserted: ["retention-slow"], removed: expect.arrayContaining(["retention-ghost", "retention-tick"]) });
    expect(synced.removed).toHaveLength(2);
    expect((await queue.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual(["retention-slow"]);
  });
});
