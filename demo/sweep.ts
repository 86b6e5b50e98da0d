import { Queue } from "bullmq";
import { Client } from "pg";
import type { DataSource } from "typeorm";
import { loadConfig, type Config } from "../src/config";
import { loadDataMap } from "../src/datamap/load";
import type { DataMap } from "../src/datamap/schema";
import { describeAge } from "../src/datamap/retention-policy";
import { createDataSource } from "../src/db/data-source";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/queues/connection";
import { QUEUES } from "../src/queues/names";
import { getRunView, triggerRun, type RetentionRunView } from "../src/retention/runs";
import { startWorker } from "../workers/worker";

/**
 * The retention part of the demo: the shop's two policies (`dormant-customers`: anonymize
 * accounts unused for three years; `old-support-tickets`: delete tickets older than two years),
 * each previewed with a dry run and then run through the queue. A worker must be running the
 * `retention` queue (`lethe worker`, or the demo's in-process one).
 */

/** What {@link runSweepDemo} needs. */
export interface SweepDemoOptions {
  config: Config;
  dataMap: DataMap;
  /** Lethe's own database (initialized, migrated). */
  ds: DataSource;
  /** The shop's database, to show the effect. */
  shopUrl: string;
  /** Where the narrative goes. (Default: stdout) */
  out?: NodeJS.WritableStream;
  /** How long to wait for each run. (Default: 120000 ms) */
  timeoutMs?: number;
}

/** The demo's policies, in the order it runs them. */
export const DEMO_POLICIES = ["dormant-customers", "old-support-tickets"] as const;

async function waitForEnd(ds: DataSource, id: string, timeoutMs: number): Promise<RetentionRunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await getRunView(ds, id);
    if (view && (view.status === "completed" || view.status === "failed")) return view;
    if (Date.now() > deadline) throw new Error(`retention run ${id} did not finish within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function shopCounts(url: string): Promise<{ customers: number; anonymized: number; tickets: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query<{ customers: number; anonymized: number; tickets: number }>(
      `SELECT (SELECT count(*) FROM customers)::int AS customers,
              (SELECT count(*) FROM customers WHERE email LIKE '%@erased.invalid')::int AS anonymized,
              (SELECT count(*) FROM support_tickets)::int AS tickets`,
    );
    return res.rows[0]!;
  } finally {
    await c.end();
  }
}

/**
 * Runs the sweep section of the demo: for each policy a dry run (counts only), then the real
 * run, printing counts and the shop's state before and after. Returns the runs.
 */
export async function runSweepDemo(opts: SweepDemoOptions): Promise<RetentionRunView[]> {
  const out = opts.out ?? process.stdout;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const say = (line: string) => out.write(`${line}\n`);
  const connection = createRedis(opts.config.redisUrl, "worker");
  const queue = new Queue(QUEUES.retention, { connection, prefix: opts.config.queuePrefix });
  const runs: RetentionRunView[] = [];
  try {
    say("\n== Retention sweeps (storage limitation, Art. 5(1)(e)) ==");
    const before = await shopCounts(opts.shopUrl);
    say(`shop before: ${before.customers} customers (${before.anonymized} anonymized), ${before.tickets} support tickets`);
    for (const name of DEMO_POLICIES) {
      const policy = opts.dataMap.retention.find((p) => p.name === name);
      if (!policy) throw new Error(`the demo data map has no retention policy "${name}"`);
      say(
        `\npolicy ${name}: ${policy.action} ${policy.table} where ${describeAge(policy.age)} is older than ${policy.age.olderThan ?? policy.age.before} (${policy.schedule.cron}, ${policy.schedule.tz})`,
      );
      const ctx = { ds: opts.ds, config: opts.config, dataMap: opts.dataMap, queue };
      const dry = await waitForEnd(opts.ds, (await triggerRun(ctx, name, { dryRun: true, requestedBy: "demo" })).id, timeoutMs);
      say(`  dry run: would ${policy.action} ${dry.rows.wouldChange ?? 0} of ${dry.rows.matched} due rows (${dry.rows.held} held); nothing changed`);
      const run = await waitForEnd(opts.ds, (await triggerRun(ctx, name, { dryRun: false, requestedBy: "demo" })).id, timeoutMs);
      if (run.status !== "completed") throw new Error(`retention run ${run.id} failed: ${run.error?.message ?? "unknown"}`);
      say(
        `  run ${run.id}: ${policy.action === "delete" ? "deleted" : "anonymized"} ${run.rows.changed} rows in ${run.batches} batches (longest ${run.maxBatchMs} ms), ${run.rows.held} held`,
      );
      runs.push(dry, run);
    }
    const after = await shopCounts(opts.shopUrl);
    say(`\nshop after: ${after.customers} customers (${after.anonymized} anonymized), ${after.tickets} support tickets`);
    say("each run left one audit entry (retention.previewed / retention.completed) with its counts and no personal data");
    return runs;
  } finally {
    await queue.close();
    await connection.quit();
  }
}

/** `tsx demo/sweep.ts`: runs the sweep section against an already seeded shop, with an in-process worker. */
async function main(): Promise<void> {
  const config = loadConfig();
  const shopUrl = process.env.SHOP_DATABASE_URL;
  if (!shopUrl) throw new Error("SHOP_DATABASE_URL is required (the seeded demo shop, see demo/seed.ts)");
  const dataMap = loadDataMap(config.dataMapPath);
  const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
  await ds.initialize();
  const worker = await startWorker(config, { queues: ["retention"], logger: createLogger("warn") });
  try {
    await runSweepDemo({ config, dataMap, ds, shopUrl });
  } finally {
    await worker.close();
    await ds.destroy();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo sweep failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
