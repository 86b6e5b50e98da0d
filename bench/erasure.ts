/**
 * `npm run bench:erasure`: 1,000 erasures end to end (HTTP API → queue → one worker process →
 * completed) on a generated 4-table schema with 20 rows per subject, against a baseline that runs
 * the minimal hand-written erasure SQL for another 1,000 subjects in a loop, in the same run, and
 * the peers' way (Fides-style: find the rows, then one statement per row, each on a new
 * connection) for BENCH_PEER_SUBJECTS (default 50) more. Before the timed run, BENCH_WARMUP (default
 * 100) other erasures go through the same worker untimed, as the baseline's connection is open before
 * its clock starts: every erasing connection has set up the compiled erasure and every statement
 * has been planned (a cold start costs 50-100 ms of Postgres CPU per connection; printed as
 * `warmup_erasures`). Round trips of the API and the worker
 * are counted (`bench/instrument.ts`), and the CPU each side spends (`bench/cpu.ts`: the worker,
 * this process — the API and the load generator, which posts over a keep-alive `node:http` agent —
 * and the Postgres backends of Lethe's database and of the application's). Last stdout line: {"erasures_per_s",
 * "baseline_per_s", "ratio", "peer_style_per_s", "pg_round_trips_per_erasure",
 * "redis_round_trips_per_erasure", "cpu_ms_per_erasure"}.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { startApi } from "../workers/api";
import { createLogger } from "../src/logger";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, profileArgs, runBench, SCRATCH, startWorkerProcess, tearDown, waitAllCompleted, workerRoundTrips } from "./support";
import { excludeClient, installCounters, roundTrips } from "./instrument";
import { ownCpuMs, postgresCpuMeter, processCpuMs } from "./cpu";
import { closeAgent, submitErasure } from "./http-client";
import { APP_SCHEMA, APP_SUBJECT, appStore, fillApp } from "./app-schema";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1000);
const PEER_SUBJECTS = Number(process.env.BENCH_PEER_SUBJECTS ?? 50);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const IN_FLIGHT = 64;

const DATA_MAP = (urlVar: string) => ({ version: 1, subject: APP_SUBJECT, stores: { app: appStore(urlVar) } });

/** A client of the bench's own (setup, polling, baselines): not counted. */
function ownClient(url: string): Client {
  const c = new Client({ connectionString: url });
  excludeClient(c);
  return c;
}

/**
 * The same erasure the way the best-known open-source peer (Fides) runs it against Postgres: the
 * subject's rows are found first, then each row is changed by its own statement, each statement on
 * a new connection. Sequential, like the baseline.
 */
async function peerStyle(url: string, ids: number[]): Promise<number> {
  const perRow = async (sql: string, id: number): Promise<void> => {
    const c = ownClient(url);
    await c.connect();
    await c.query(sql, [id]);
    await c.end();
  };
  const started = process.hrtime.bigint();
  for (const id of ids) {
    const find = ownClient(url);
    await find.connect();
    const orders = (await find.query<{ id: number }>(`SELECT id FROM orders WHERE user_id = $1`, [id])).rows;
    const comments = (await find.query<{ id: number }>(`SELECT id FROM comments WHERE user_id = $1`, [id])).rows;
    await find.end();
    for (const o of orders) {
      await perRow(
        `UPDATE orders SET user_id = NULL, billing_name = '[erased]', billing_email = substr(md5(billing_email), 1, 24) || '@erased.invalid' WHERE id = $1`,
        o.id,
      );
    }
    for (const c of comments) await perRow(`DELETE FROM comments WHERE id = $1`, c.id);
    await perRow(`DELETE FROM users WHERE id = $1`, id);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return ids.length / seconds;
}

/** The same erasure, written by hand: one transaction per subject, sequential. */
async function baseline(url: string, ids: number[]): Promise<number> {
  const c = ownClient(url);
  await c.connect();
  const started = process.hrtime.bigint();
  for (const id of ids) {
    await c.query("BEGIN");
    await c.query(
      `UPDATE orders SET user_id = NULL, billing_name = '[erased]', billing_email = substr(md5(billing_email), 1, 24) || '@erased.invalid' WHERE user_id = $1`,
      [id],
    );
    await c.query(`DELETE FROM comments WHERE user_id = $1`, [id]);
    await c.query(`DELETE FROM users WHERE id = $1`, [id]);
    await c.query("COMMIT");
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await c.end();
  return ids.length / seconds;
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const mapPath = join(tmpdir(), `lethe-bench-map-${process.pid}.json`);
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  // 16 jobs at once, 8 erasing connections to the application's database (the default is 4: with
  // 16 jobs, 8 measured 10-17 % more erasures/s in two paired runs).
  const env = letheEnv(own.url, mapPath, {
    BENCH_APP_URL: app.url,
    LETHE_WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? "16",
    LETHE_ERASE_CONNECTIONS: process.env.LETHE_ERASE_CONNECTIONS ?? "8",
  });
  Object.assign(process.env, env);
  installCounters();
  const counter = workerRoundTrips();
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    await migrate(own.url);
    const setup = ownClient(app.url);
    await setup.connect();
    await setup.query(APP_SCHEMA + fillApp(SUBJECTS * 2 + PEER_SUBJECTS + WARMUP));
    await setup.end();

    const baselinePerS = await baseline(
      app.url,
      Array.from({ length: SUBJECTS }, (_, i) => i + 1),
    );
    process.stderr.write(`baseline: ${baselinePerS.toFixed(0)} erasures/s\n`);
    const peerPerS = await peerStyle(
      app.url,
      Array.from({ length: PEER_SUBJECTS }, (_, i) => SUBJECTS * 2 + i + 1),
    );
    process.stderr.write(`peer style: ${peerPerS.toFixed(1)} erasures/s\n`);

    worker = await startWorkerProcess({ ...env, ...counter.env }, profileArgs(), counter.preload);
    const config = loadConfig(env);
    api = await startApi(config, { logger: createLogger("warn"), handleSignals: false });
    const ids = Array.from({ length: SUBJECTS }, (_, i) => SUBJECTS + i + 1);
    const own$ = ownClient(own.url);
    await own$.connect();
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));
    const submitAll = async (list: number[]): Promise<void> => {
      let next = 0;
      const post = async (): Promise<void> => {
        while (next < list.length) await submitErasure(api!.url, "bench-key-0000000000000001", list[next++]!);
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, post));
    };
    // Warm-up (untimed): other subjects, through the same API and worker.
    await submitAll(Array.from({ length: WARMUP }, (_, i) => SUBJECTS * 2 + PEER_SUBJECTS + i + 1));
    await waitAllCompleted(own$, WARMUP);
    await settle();
    const before = { api: roundTrips(), worker: counter.read() };
    const pgCpu = { own: postgresCpuMeter(own$, [own.name]), app: postgresCpuMeter(own$, [app.name]) };
    await pgCpu.own.start();
    await pgCpu.app.start();
    const cpuBefore = { worker: processCpuMs(worker.pid!), api: ownCpuMs() };

    const started = process.hrtime.bigint();
    await submitAll(ids);
    process.stderr.write(`enqueued ${ids.length} in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)} s\n`);
    await waitAllCompleted(own$, WARMUP + ids.length);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = {
      worker: processCpuMs(worker.pid!) - cpuBefore.worker,
      api_and_load: ownCpuMs() - cpuBefore.api,
      postgres_lethe: await pgCpu.own.stop(),
      postgres_app: await pgCpu.app.stop(),
    };
    await settle();
    const after = { api: roundTrips(), worker: counter.read() };
    const per = (k: "pg" | "redis"): number => Number(((after.api[k] - before.api[k] + after.worker[k] - before.worker[k]) / ids.length).toFixed(2));
    if (process.env.BENCH_COUNTS_BY_STATEMENT === "1") process.stderr.write(`${JSON.stringify({ api: after.api, worker: after.worker }, null, 1)}\n`);
    await own$.end();
    const check = ownClient(app.url);
    await check.connect();
    const left = await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE id > $1`, [SUBJECTS]);
    await check.end();
    if (left.rows[0]!.n !== 0) throw new Error(`${left.rows[0]!.n} subjects were not erased`);
    const erasuresPerS = ids.length / seconds;
    process.stdout.write(
      `${JSON.stringify({
        subjects: ids.length,
        warmup_erasures: WARMUP,
        rows_per_subject: 20,
        seconds: Number(seconds.toFixed(3)),
        erasures_per_s: Math.round(erasuresPerS),
        baseline_per_s: Math.round(baselinePerS),
        ratio: Number((erasuresPerS / baselinePerS).toFixed(3)),
        peer_style_per_s: Number(peerPerS.toFixed(1)),
        pg_round_trips_per_erasure: per("pg"),
        redis_round_trips_per_erasure: per("redis"),
        cpu_ms_per_erasure: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number((v / ids.length).toFixed(2))])),
      })}\n`,
    );
  } finally {
    closeAgent();
    await tearDown({ api, worker, queuePrefix: env.LETHE_QUEUE_PREFIX!, databases: [own, app] });
  }
}

runBench("erasure", main);
