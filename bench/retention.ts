/**
 * `npm run bench:retention`: a 1,000,000-row table (id, email, full name, address, last activity
 * spread over 5 years), anonymized where the last activity is older than 3 years — (a) by one
 * hand-written set-based UPDATE (the baseline), then (b) by a Lethe sweep through the queue and a
 * worker child process, the table reset to the same pristine copy before each.
 * Last stdout line: {"rows", "rows_per_s", "baseline_rows_per_s", "ratio", "max_batch_ms", "peak_rss_mb"}.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { loadDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { newMaskKey } from "../src/stores/postgres/masking";
import { createRedis } from "../src/queues/connection";
import { QUEUES } from "../src/queues/names";
import { getRunView, triggerRun, type RetentionRunView } from "../src/retention/runs";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, peakRssMb, runBench, SCRATCH, startWorkerProcess, stopWorker } from "./support";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);

const PRISTINE = `
CREATE TABLE people_pristine (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, address text, last_activity timestamptz NOT NULL);
INSERT INTO people_pristine
SELECT g, 'user' || g || '@example.com', 'Person Number ' || g, g || ' Long Street, 10115 Berlin',
       now() - ((g::bigint * 7919) % 1826) * interval '1 day' - (g % 86400) * interval '1 second'
  FROM generate_series(1, ${ROWS}) g;
`;

/** The table as the application had it: dropped and copied again from the pristine copy. */
const RESET = [
  `DROP TABLE IF EXISTS people`,
  `CREATE TABLE people (LIKE people_pristine INCLUDING ALL)`,
  `INSERT INTO people SELECT * FROM people_pristine`,
  `VACUUM ANALYZE people`,
  `CHECKPOINT`,
];

const DATA_MAP = (urlVar: string) => ({
  version: 1,
  subject: { store: "app", table: "people", key: "id", identities: { email: "email" } },
  stores: {
    app: {
      kind: "postgres",
      url: `\${${urlVar}}`,
      tables: {
        people: {
          action: "anonymize",
          fields: {
            email: { category: "contact", mask: "email" },
            full_name: { category: "identity", mask: "token" },
            address: { category: "location", mask: "null" },
          },
        },
      },
      ignore: { people_pristine: "the benchmark's pristine copy" },
      notLinks: { "people_pristine.email": "the benchmark's pristine copy of people, not a reference to it" },
    },
  },
  retention: [
    {
      name: "stale-people",
      store: "app",
      table: "people",
      age: { column: "last_activity", olderThan: "P3Y" },
      action: "anonymize",
      batchSize: BATCH,
      schedule: { cron: "0 0 1 1 *", tz: "UTC" },
      purpose: "benchmark",
      legalBasis: "Art. 6(1)(b)",
    },
  ],
});

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function reset(url: string): Promise<void> {
  await withClient(url, async (c) => {
    for (const sql of RESET) await c.query(sql);
  });
}

/** The same anonymization, hand-written: one set-based UPDATE with the same masks (keyed email, token, NULL). */
async function baseline(url: string): Promise<{ rows: number; seconds: number }> {
  const key = newMaskKey();
  return withClient(url, async (c) => {
    const started = process.hrtime.bigint();
    const res = await c.query(
      `UPDATE people SET email = substr(encode(sha256($2::bytea || sha256($1::bytea || convert_to(email, 'UTF8'))), 'hex'), 1, 24) || '@erased.invalid',
                         full_name = '[erased]', address = NULL
        WHERE last_activity < now() - interval '3 years'`,
      [key.ipad, key.opad],
    );
    return { rows: res.rowCount ?? 0, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  });
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const mapPath = join(tmpdir(), `lethe-bench-retention-${process.pid}.json`);
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  const env = letheEnv(own.url, mapPath, { BENCH_APP_URL: app.url, LETHE_WORKER_CONCURRENCY: "2" });
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  const ds = createDataSource(own.url, { poolSize: 2 });
  const redis = createRedis(env.REDIS_URL!, "worker");
  const queue = new Queue(QUEUES.retention, { connection: redis, prefix: env.LETHE_QUEUE_PREFIX! });
  try {
    await migrate(own.url);
    await withClient(app.url, (c) => c.query(PRISTINE).then(() => undefined));
    process.stderr.write(`built ${ROWS} rows\n`);

    await reset(app.url);
    const base = await baseline(app.url);
    const baselineRowsPerS = base.rows / base.seconds;
    process.stderr.write(`baseline: ${base.rows} rows in ${base.seconds.toFixed(2)} s = ${baselineRowsPerS.toFixed(0)} rows/s\n`);

    await reset(app.url);
    worker = await startWorkerProcess(env);
    await ds.initialize();
    const config = loadConfig(env);
    const dataMap = loadDataMap(mapPath, env);
    const started = process.hrtime.bigint();
    const run = await triggerRun({ ds, config, dataMap, queue }, "stale-people", { dryRun: false, requestedBy: "bench" });
    let view: RetentionRunView | null = run;
    while (view && view.status !== "completed" && view.status !== "failed") {
      await new Promise((resolve) => setTimeout(resolve, 10));
      view = await getRunView(ds, run.id);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rss = peakRssMb(worker.pid!);
    if (!view || view.status !== "completed") throw new Error(`the sweep did not complete: ${JSON.stringify(view?.error)}`);
    const [check] = await withClient(
      app.url,
      async (c) =>
        (
          await c.query<{ masked: number; left: number }>(
            `SELECT count(*) FILTER (WHERE email LIKE '%@erased.invalid')::int AS masked,
                  count(*) FILTER (WHERE last_activity < $1 AND email NOT LIKE '%@erased.invalid')::int AS left FROM people`,
            [view!.cutoff],
          )
        ).rows,
    );
    if (check!.left !== 0 || check!.masked !== view.rows.changed)
      throw new Error(`sweep result mismatch: ${JSON.stringify(check)} vs ${JSON.stringify(view.rows)}`);
    const rowsPerS = view.rows.changed / seconds;
    process.stderr.write(
      `lethe: ${view.rows.changed} rows in ${seconds.toFixed(2)} s (${view.batches} batches, run ${view.durationMs} ms) = ${rowsPerS.toFixed(0)} rows/s; longest batch ${view.maxBatchMs} ms; worker peak RSS ${rss} MB\n`,
    );
    process.stdout.write(
      `${JSON.stringify({
        rows: view.rows.changed,
        rows_per_s: Math.round(rowsPerS),
        baseline_rows_per_s: Math.round(baselineRowsPerS),
        ratio: Number((rowsPerS / baselineRowsPerS).toFixed(3)),
        max_batch_ms: view.maxBatchMs,
        peak_rss_mb: rss,
      })}\n`,
    );
  } finally {
    await stopWorker(worker);
    await queue.close();
    // Leave nothing of this run in Redis (every queue the worker made, its schedulers included).
    await deletePrefixKeys(redis, env.LETHE_QUEUE_PREFIX!);
    await redis.quit();
    if (ds.isInitialized) await ds.destroy();
    await own.drop();
    await app.drop();
  }
}

runBench("retention", main);
