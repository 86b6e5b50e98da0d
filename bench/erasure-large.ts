/**
 * `npm run bench:erasure-large`: one subject with 10M rows over the 4 tables of the erasure
 * benchmark's schema (1 user, 20 % orders, 40 % order items, 40 % comments; `--rows 1000000` or
 * BENCH_LARGE_ROWS for a smoke run), among 1,000 ordinary subjects, erased end to end (HTTP API →
 * queue → one worker process → completed). The baseline is the same set-based SQL run by hand on
 * the same rows (mask and detach the orders, delete the comments and the user, one transaction),
 * rolled back, the tables vacuumed before Lethe runs. Last stdout line:
 * {"rows", "seconds", "baseline_seconds", "ratio", "peak_rss_mb"} (ratio = baseline / Lethe;
 * peak_rss_mb is the worker process's VmHWM).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { startApi } from "../workers/api";
import { createLogger } from "../src/logger";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, peakRssMb, runBench, SCRATCH, startWorkerProcess, tearDown } from "./support";
import { APP_SCHEMA, APP_SUBJECT, appStore, fillApp } from "./app-schema";

const flag = process.argv.indexOf("--rows");
const ROWS = Number(flag > 0 ? process.argv[flag + 1] : (process.env.BENCH_LARGE_ROWS ?? 10_000_000));
const ORDINARY = 1000;

const DATA_MAP = (urlVar: string) => ({ version: 1, subject: APP_SUBJECT, stores: { app: appStore(urlVar) } });

/** The heavy subject (id ORDINARY + 1): its orders, two items per order, comments; ROWS rows in all. */
function heavySubject(rows: number): { sql: string; orders: number; items: number; comments: number } {
  const orders = Math.floor(rows / 5);
  const items = 2 * orders;
  const comments = rows - 1 - orders - items;
  const id = ORDINARY + 1;
  return {
    orders,
    items,
    comments,
    sql: `
INSERT INTO users (id, email, full_name, phone) VALUES (${id}, 'heavy@example.com', 'Heavy User', '+49 1');
INSERT INTO orders (user_id, total_cents, billing_name, billing_email) SELECT ${id}, g, 'Heavy User', 'heavy@example.com' FROM generate_series(1, ${orders}) g;
INSERT INTO order_items (order_id, sku, quantity) SELECT o.id, 'SKU' || i, i FROM orders o, generate_series(1, 2) i WHERE o.user_id = ${id};
INSERT INTO comments (user_id, body) SELECT ${id}, 'comment ' || g FROM generate_series(1, ${comments}) g;
SELECT setval('users_id_seq', ${id});
`,
  };
}

/** The same erasure by hand, set-based, on the same rows; rolled back. Seconds. */
async function baseline(url: string, id: number): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const started = process.hrtime.bigint();
    await c.query("BEGIN");
    await c.query(
      `UPDATE orders SET user_id = NULL, billing_name = '[erased]', billing_email = substr(md5(billing_email), 1, 24) || '@erased.invalid' WHERE user_id = $1`,
      [id],
    );
    await c.query(`DELETE FROM comments WHERE user_id = $1`, [id]);
    await c.query(`DELETE FROM users WHERE id = $1`, [id]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await c.query("ROLLBACK");
    return seconds;
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const mapPath = join(tmpdir(), `lethe-bench-large-map-${process.pid}.json`);
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  const env = letheEnv(own.url, mapPath, { BENCH_APP_URL: app.url });
  Object.assign(process.env, env);
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    await migrate(own.url);
    const heavy = heavySubject(ROWS);
    const setup = new Client({ connectionString: app.url });
    await setup.connect();
    const filled = process.hrtime.bigint();
    await setup.query(APP_SCHEMA + fillApp(ORDINARY) + heavy.sql + "ANALYZE;");
    process.stderr.write(`filled ${ROWS} rows in ${(Number(process.hrtime.bigint() - filled) / 1e9).toFixed(1)} s\n`);

    const baselineSeconds = await baseline(app.url, ORDINARY + 1);
    process.stderr.write(`baseline: ${baselineSeconds.toFixed(2)} s\n`);
    await setup.query("VACUUM ANALYZE");
    await setup.query("CHECKPOINT");

    worker = await startWorkerProcess(env);
    const config = loadConfig(env);
    api = await startApi(config, { logger: createLogger("warn"), handleSignals: false });
    const started = process.hrtime.bigint();
    const res = await fetch(`${api.url}/v1/requests`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench-key-0000000000000001" },
      body: JSON.stringify({ type: "erasure", subject: { email: "Heavy@Example.com" } }),
    });
    if (res.status !== 202) throw new Error(`POST /v1/requests answered ${res.status}`);
    const own$ = new Client({ connectionString: own.url });
    await own$.connect();
    let rss = 0;
    for (;;) {
      rss = Math.max(rss, peakRssMb(worker.pid!) ?? 0);
      const r = await own$.query<{ status: string; error_message: string | null }>(`SELECT status, error_message FROM lethe.subject_request`);
      const { status, error_message } = r.rows[0]!;
      if (status === "failed") throw new Error(`the erasure failed: ${error_message}`);
      if (status === "completed") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rss = Math.max(rss, peakRssMb(worker.pid!) ?? 0);
    await own$.end();
    const left = await setup.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM users WHERE id = $1) + (SELECT count(*) FROM comments WHERE user_id = $1) + (SELECT count(*) FROM orders WHERE user_id = $1)
              + (SELECT count(*) FROM orders WHERE billing_email = 'heavy@example.com') AS n`,
      [ORDINARY + 1],
    );
    await setup.end();
    if (Number(left.rows[0]!.n) !== 0) throw new Error(`${left.rows[0]!.n} rows of the subject were left`);
    process.stdout.write(
      `${JSON.stringify({
        rows: ROWS,
        seconds: Number(seconds.toFixed(2)),
        baseline_seconds: Number(baselineSeconds.toFixed(2)),
        ratio: Number((baselineSeconds / seconds).toFixed(3)),
        peak_rss_mb: rss,
      })}\n`,
    );
  } finally {
    await tearDown({ api, worker, queuePrefix: env.LETHE_QUEUE_PREFIX!, databases: [own, app] });
  }
}

runBench("erasure-large", main);
