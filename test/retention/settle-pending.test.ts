import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { newMaskKey } from "../../src/stores/postgres/masking";
import { StorePools } from "../../src/stores/postgres/pools";
import { executeRun, PolicyBusyError } from "../../src/retention/execute-run";
import { createManualRun, getRunView, policyNamed } from "../../src/retention/runs";
import { applyBatch } from "../../src/retention/sweep-batch";
import { buildSweepPlan } from "../../src/retention/sweep-plan";
import { boundSql } from "../../src/retention/sweep-sql";
import type { Services } from "../../src/services";
import { runSql } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";
import { query } from "./helpers";

/**
 * The crash windows of a batch, made deterministic: a worker that died after recording the
 * batch as pending but before COMMIT (the batch is run again), after COMMIT but before the next
 * write (the batch is counted once, not redone), or whose transaction is still open (the resumed
 * run waits for it). Also: a second execution of a policy is refused while one holds its lock.
 */
const ROWS = 1000;
const BATCH = 100;

const DATA_MAP = {
  version: 1,
  subject: { store: "app", table: "people", key: "id", identities: {} },
  stores: {
    app: {
      kind: "postgres",
      url: "${SETTLE_DATABASE_URL}",
      tables: { people: { action: "anonymize", fields: { full_name: { category: "identity", mask: "token" } } } },
    },
  },
  retention: [
    {
      name: "stale",
      store: "app",
      table: "people",
      age: { column: "seen_at", olderThan: "P1Y" },
      action: "anonymize",
      batchSize: BATCH,
      schedule: { cron: "0 0 1 1 *" },
      purpose: "test",
      legalBasis: "Art. 6(1)(b)",
    },
  ],
};

const RESET = `DROP TABLE IF EXISTS people; CREATE TABLE people (id int PRIMARY KEY, full_name text NOT NULL, seen_at timestamptz NOT NULL);
  INSERT INTO people SELECT g, 'Person ' || g, now() - (g % 4) * interval '200 days' FROM generate_series(1, ${ROWS}) g;`;
/** Rows with g % 4 in (2, 3): 400 or 600 days old. */
const DUE = ROWS / 2;

describe("retention run: settling the batch a dead worker left in flight", () => {
  let h: LetheHarness;
  let dir: string;
  let rt: Pick<Services, "ds" | "config" | "dataMap" | "pools" | "logger">;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-settle-"));
    const path = join(dir, "lethe.config.json");
    writeFileSync(path, JSON.stringify(DATA_MAP));
    h = await createHarness({ map: { path, urlVar: "SETTLE_DATABASE_URL" }, prepare: (url) => runSql(url, RESET) });
    rt = { ds: h.ds, config: h.config, dataMap: h.dataMap, pools: new StorePools(h.dataMap, 4), logger: h.logger };
  });

  afterAll(async () => {
    await rt?.pools.close();
    await h?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A running run whose first batch was applied in an open app transaction and recorded as pending; returns that transaction. */
  async function diedMidBatch(): Promise<{ runId: string; tx: Client; changed: number }> {
    await runSql(h.appDb.url, RESET);
    const run = await createManualRun(h.ds, policyNamed(h.dataMap, "stale"), { dryRun: false, requestedBy: "test" });
    await h.ds.query(`UPDATE lethe.retention_run SET status = 'running', started_at = now() WHERE id = $1`, [run.id]);
    const [row] = (await h.ds.query(`SELECT cutoff::text AS cutoff FROM lethe.retention_run WHERE id = $1`, [run.id])) as Array<{ cutoff: string }>;
    const plan = buildSweepPlan(h.dataMap, policyNamed(h.dataMap, "stale"), await rt.pools.schema("app"));
    const tx = new Client({ connectionString: h.appDb.url });
    await tx.connect();
    const bound = boundSql(plan, null, row!.cutoff);
    const hi = [(await tx.query<{ k0: string }>(bound.sql, bound.params)).rows[0]!.k0];
    const xid = (await tx.query<{ xid: string }>(`BEGIN; SELECT txid_current()::text AS xid`)) as unknown as Array<{ rows: Array<{ xid: string }> }>;
    const counts = await applyBatch(tx, plan, { cutoff: row!.cutoff, lo: null, hi, holds: [], maskKey: newMaskKey(), holdKey: newMaskKey(h.config.hmacKey) });
    await h.ds.query(`UPDATE lethe.retention_run SET pending = $2 WHERE id = $1`, [run.id, JSON.stringify({ xid: xid[1]!.rows[0]!.xid, hi, ...counts })]);
    return { runId: run.id, tx, changed: counts.changed };
  }

  /** The `txid_status` queries the application database's backends ran last, as `pid@start` (each query has its own start). */
  async function statusChecks(): Promise<Set<string>> {
    const rows = await query<{ k: string }>(
      h.letheDb.url,
      `SELECT pid || '@' || query_start AS k FROM pg_stat_activity WHERE datname = $1 AND query ILIKE '%txid_status%'`,
      [h.appDb.name],
    );
    return new Set(rows.map((r) => r.k));
  }

  const erased = async () => (await query<{ n: number }>(h.appDb.url, `SELECT count(*)::int AS n FROM people WHERE full_name = '[erased]'`))[0]!.n;

  it("died before COMMIT: the batch did not happen and is run again; counts exact", async () => {
    const { runId, tx, changed } = await diedMidBatch();
    // The first batch holds BATCH due rows (batches are bounded by due rows).
    expect(changed).toBe(BATCH);
    await tx.query("ROLLBACK");
    await tx.end();
    const out = await executeRun(rt, runId, { log: h.logger });
    expect(out).toMatchObject({ status: "completed", changed: DUE, matched: DUE, batches: expect.any(Number) });
    expect(await erased()).toBe(DUE);
  });

  it("died after COMMIT: the batch is counted once and not redone; counts exact", async () => {
    const { runId, tx } = await diedMidBatch();
    await tx.query("COMMIT");
    await tx.end();
    const out = await executeRun(rt, runId, { log: h.logger });
    expect(out).toMatchObject({ status: "completed", changed: DUE, matched: DUE, batches: expect.any(Number) });
    expect(await erased()).toBe(DUE);
    expect((await getRunView(h.ds, runId))!.rows).toEqual({ matched: DUE, changed: DUE, held: 0 });
  });

  it("transaction still open: the resumed run waits for it to end, then settles it", async () => {
    const { runId, tx } = await diedMidBatch();
    const before = await statusChecks();
    const asked = new Set<string>();
    const running = executeRun(rt, runId, { log: h.logger });
    // The run has asked Postgres about the open transaction twice: it found it in progress and
    // looked again, rather than going on.
    await waitFor(
      async () => {
        for (const k of await statusChecks()) if (!before.has(k)) asked.add(k);
        return asked.size >= 2 ? true : undefined;
      },
      "the run to ask twice whether the batch's transaction has ended",
      30_000,
      10,
    );
    expect(await erased()).toBe(0);
    expect((await getRunView(h.ds, runId))!.status).toBe("running");
    await tx.query("COMMIT");
    await tx.end();
    expect(await running).toMatchObject({ status: "completed", changed: DUE, batches: expect.any(Number) });
    expect(await erased()).toBe(DUE);
  });

  it("a second execution of the policy is refused while another holds its advisory lock", async () => {
    await runSql(h.appDb.url, RESET);
    const run = await createManualRun(h.ds, policyNamed(h.dataMap, "stale"), { dryRun: false, requestedBy: "test" });
    const other = new Client({ connectionString: h.letheDb.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('lethe.retention'), hashtext('stale'))`);
      await expect(executeRun(rt, run.id, { log: h.logger })).rejects.toBeInstanceOf(PolicyBusyError);
      expect(await erased()).toBe(0);
      await other.query(`SELECT pg_advisory_unlock_all()`);
      expect(await executeRun(rt, run.id, { log: h.logger })).toMatchObject({ status: "completed", changed: DUE });
      expect(await executeRun(rt, run.id, { log: h.logger })).toMatchObject({ status: "skipped", changed: DUE });
    } finally {
      await other.end();
    }
  });
});
