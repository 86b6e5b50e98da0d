/**
 * `npm run bench:scale`: the same erasures run by 1, 2 and 4 `lethe worker` processes (node
 * directly, one process each) on one Postgres and one Redis, to see what more workers carry.
 * For each count: fresh databases, queue prefix and files; BENCH_SUBJECTS subjects (Default:
 * 1000) present in Postgres (4 tables, 20 rows), Redis (3 keys, one found by SCAN) and files (2
 * files), posted through the HTTP API with 64 in flight; timed until all are completed. Each worker
 * runs LETHE_WORKER_CONCURRENCY = BENCH_CONCURRENCY (Default: 8), so Postgres connections stay
 * under 100 with 4 workers. No processor (webhook) store: nothing in this process competes with
 * the workers but the API.
 * Last stdout line: {"erasures_per_s": {"1": …, "2": …, "4": …}, "cores", "runs": [...]}; each run
 * also gives the workers' CPU seconds, the machine's busy share and round trips per erasure.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/queues/connection";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { startApi } from "../workers/api";
import { closeAgent, submitErasure } from "./http-client";
import { machineBusySeconds, processCpuMs } from "./cpu";
import { APP_SCHEMA, APP_SUBJECT, appStore, fillApp, fillOtherStores, otherStores } from "./app-schema";
import { countsDir, INSTRUMENT, settleCounts, sumRoundTrips } from "./round-trips";
import { letheEnv, migrate, REDIS_URL, runBench, SCRATCH, startWorkerProcess, stopWorker, waitAllCompleted } from "./support";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1000);
const COUNTS = (process.env.BENCH_WORKERS ?? "1,2,4").split(",").map(Number);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? "8";
const IN_FLIGHT = 64;
const API_KEY = "bench-key-0000000000000001";

const DATA_MAP = (prefix: string) => ({
  version: 1,
  subject: APP_SUBJECT,
  stores: {
    app: appStore("BENCH_APP_URL"),
    ...otherStores(prefix, true),
  },
});

interface RunResult {
  workers: number;
  erasures_per_s: number;
  seconds: number;
  worker_cpu_s: number;
  machine_busy_share: number;
  pg_round_trips_per_erasure: number;
  redis_round_trips_per_erasure: number;
}

/** One run with `n` worker processes on fresh databases. */
async function run(n: number): Promise<RunResult> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const prefix = `b${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(join(tmpdir(), "lethe-bench-scale-"));
  const root = join(base, "root");
  const mapPath = join(base, "lethe.config.json");
  writeFileSync(mapPath, JSON.stringify(DATA_MAP(prefix)));
  const env = letheEnv(own.url, mapPath, {
    BENCH_APP_URL: app.url,
    BENCH_CACHE_URL: REDIS_URL,
    BENCH_FILES_ROOT: root,
    LETHE_WORKER_CONCURRENCY: CONCURRENCY,
    LETHE_EXPORT_DIR: join(base, "exports"),
  });
  Object.assign(process.env, env);
  const redis = createRedis(REDIS_URL, "worker");
  const workers: ChildProcess[] = [];
  const countFiles = Array.from({ length: n }, (_, i) => join(countsDir(), `lethe-bench-counts-${process.pid}-${n}-${i}.json`));
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  const ownDb = new Client({ connectionString: own.url });
  try {
    await migrate(own.url);
    const setup = new Client({ connectionString: app.url });
    await setup.connect();
    await setup.query(APP_SCHEMA + fillApp(SUBJECTS));
    await setup.end();
    await fillOtherStores(redis, prefix, root, SUBJECTS);
    for (const file of countFiles) workers.push(await startWorkerProcess({ ...env, BENCH_COUNTS_FILE: file }, [], [INSTRUMENT]));
    api = await startApi(loadConfig(env), { logger: createLogger("warn"), handleSignals: false });
    await ownDb.connect();

    await settleCounts();
    const tripsBefore = sumRoundTrips(countFiles);
    const cpuBefore = workers.map((w) => processCpuMs(w.pid ?? -1) / 1000);
    const busyBefore = machineBusySeconds();
    const started = process.hrtime.bigint();
    let next = 1;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next <= SUBJECTS) {
          const id = next++;
          await submitErasure(api!.url, API_KEY, id);
        }
      }),
    );
    await waitAllCompleted(ownDb, SUBJECTS);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const busy = machineBusySeconds() - busyBefore;
    const workerCpu = workers.reduce((sum, w, i) => sum + processCpuMs(w.pid ?? -1) / 1000 - cpuBefore[i]!, 0);
    await settleCounts();
    const tripsAfter = sumRoundTrips(countFiles);

    const check = new Client({ connectionString: app.url });
    await check.connect();
    const left = (await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`)).rows[0]!.n;
    await check.end();
    if (left !== 0) throw new Error(`${left} subjects were not erased`);

    const result: RunResult = {
      workers: n,
      erasures_per_s: Math.round(SUBJECTS / seconds),
      seconds: Number(seconds.toFixed(2)),
      worker_cpu_s: Number(workerCpu.toFixed(1)),
      machine_busy_share: Number((busy / (seconds * cpus().length)).toFixed(2)),
      pg_round_trips_per_erasure: Number(((tripsAfter.pg - tripsBefore.pg) / SUBJECTS).toFixed(2)),
      redis_round_trips_per_erasure: Number(((tripsAfter.redis - tripsBefore.redis) / SUBJECTS).toFixed(2)),
    };
    process.stderr.write(`${n} worker(s): ${JSON.stringify(result)}\n`);
    return result;
  } finally {
    await ownDb.end().catch(() => undefined);
    await api?.close();
    closeAgent();
    await Promise.all(workers.map(stopWorker));
    await deletePrefixKeys(redis, prefix);
    await deletePrefixKeys(redis, env.LETHE_QUEUE_PREFIX!);
    await redis.quit();
    rmSync(base, { recursive: true, force: true });
    for (const file of countFiles) rmSync(file, { force: true });
    await own.drop();
    await app.drop();
  }
}

async function main(): Promise<void> {
  const runs: RunResult[] = [];
  for (const n of COUNTS) runs.push(await run(n));
  process.stdout.write(
    `${JSON.stringify({
      erasures_per_s: Object.fromEntries(runs.map((r) => [String(r.workers), r.erasures_per_s])),
      cores: cpus().length,
      subjects: SUBJECTS,
      concurrency_per_worker: Number(CONCURRENCY),
      runs,
    })}\n`,
  );
}

runBench("scale", main);
