/**
 * `npm run bench:stores`: erasures across every store kind, end to end (HTTP API → queue → ONE
 * worker child process → every store → verified → completed). Each subject is present in Postgres
 * (4 tables, 20 rows), Redis (3 keys: two exact, one SCANned glob), files (2 files) and one local
 * webhook processor answering 200. Phase 1: 1,000 subjects posted with 64 in flight → erasures/s.
 * Phase 2: on the then idle queue, 100 more one at a time, each timed from just before its POST to
 * the moment a 5 ms poll of Lethe's database sees it completed → p50/p95. Before phase 1,
 * BENCH_WARMUP (default 100) other subjects are erased through the same API and worker, untimed:
 * a worker that has run for a while has its connections set up and its code compiled (without
 * it, V8's optimizing compiler took 15 % of the worker's CPU during phase 1).
 * The worker counts its round trips to Postgres and Redis over phase 1 (bench/instrument.ts).
 * Last stdout line: {"erasures_per_s", "p50_ms", "p95_ms", "pg_round_trips_per_erasure",
 * "redis_round_trips_per_erasure", ...}.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { startApi } from "../workers/api";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/queues/connection";
import { requestJobId } from "../src/queues/jobs/erase-request";
import { storeJobId } from "../src/queues/jobs/erase-store";
import { finalizeJobId } from "../src/queues/jobs/finalize-erasure";
import { QUEUES } from "../src/queues/names";
import { verifyLetheSignature } from "../src/webhook/verify-signature";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, peakRssMb, profileArgs, REDIS_URL, runBench, SCRATCH, startWorkerProcess, stopWorker, waitAllCompleted } from "./support";
import { countsDir, INSTRUMENT, readRoundTrips, settleCounts } from "./round-trips";
import { closeAgent, submitErasure } from "./http-client";
import { machineBusySeconds, processStat } from "./cpu";
import { APP_SCHEMA, APP_SUBJECT, appStore, fillApp, fillOtherStores, otherStores } from "./app-schema";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1000);
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 100);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const POLL_MS = 5;
const SECRET = "bench-processor-secret-0123456789";
const API_KEY = "bench-key-0000000000000001";

/** BENCH_GLOBS=0: exact patterns only (`cart:{id}:items`, `avatars/{id}.png`): no SCAN of the keyspace, no listing of the avatars directory. */
const GLOBS = process.env.BENCH_GLOBS !== "0";

/** BENCH_STORES=cache,crm: only these stores beside the application's database (to see what each one costs); all by default. */
const ONLY = process.env.BENCH_STORES ? new Set(process.env.BENCH_STORES.split(",")) : null;
const wanted = (store: string): boolean => !ONLY || ONLY.has(store);

const DATA_MAP = (prefix: string) => ({
  version: 1,
  subject: APP_SUBJECT,
  stores: {
    app: appStore("BENCH_APP_URL"),
    ...Object.fromEntries(
      Object.entries({
        ...otherStores(prefix, GLOBS),
        crm: { kind: "webhook", url: "${BENCH_CRM_URL}", secret: "${BENCH_CRM_SECRET}", identities: ["email"] },
      }).filter(([store]) => wanted(store)),
    ),
  },
});

/** The processor: verifies each call, dedupes on Idempotency-Key, answers 200. */
function startProcessor(): Promise<{ server: Server; url: string; erased: Set<string>; bad: () => number }> {
  const erased = new Set<string>();
  let bad = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks);
      const ok = verifyLetheSignature({
        secret: SECRET,
        timestamp: req.headers["lethe-timestamp"] as string,
        signature: req.headers["lethe-signature"] as string,
        rawBody,
      });
      if (!ok) bad++;
      else erased.add(String(req.headers["idempotency-key"]));
      res.writeHead(ok ? 200 : 401).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gdpr`, erased, bad: () => bad })),
  );
}

/** CPU seconds used so far by this machine (busy, all cores) and by each process (utime + stime), from /proc (Linux). */
function cpuSnapshot(): { busy: number; procs: Map<number, { comm: string; cpu: number }> } {
  const procs = new Map<number, { comm: string; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    const stat = /^\d+$/.test(entry) ? processStat(Number(entry)) : null;
    if (stat) procs.set(Number(entry), { comm: stat.comm, cpu: stat.cpuMs / 1000 });
  }
  return { busy: machineBusySeconds(), procs };
}

/** Where the machine's CPU went between two snapshots: the worker, this process (API, processor, client), Redis, Postgres, the rest. */
function cpuSplit(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>, workerPid: number): Record<string, number> {
  const out: Record<string, number> = { worker: 0, bench_api_processor: 0, redis: 0, postgres: 0 };
  for (const [pid, p] of b.procs) {
    const d = p.cpu - (a.procs.get(pid)?.cpu ?? 0);
    const group =
      pid === workerPid
        ? "worker"
        : pid === process.pid
          ? "bench_api_processor"
          : p.comm === "redis-server"
            ? "redis"
            : p.comm === "postgres"
              ? "postgres"
              : null;
    if (group) out[group]! += d;
  }
  const tracked = Object.values(out).reduce((x, y) => x + y, 0);
  out.other_or_exited = b.busy - a.busy - tracked;
  out.machine_busy = b.busy - a.busy;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Number(v.toFixed(1))]));
}

/**
 * Where one request's latency goes, from its BullMQ jobs' timestamps (medians over the sample):
 * API until the entry job exists, queue wait and run of the entry job (snapshot, hold check, the
 * inline stores, flow),
 * until the last store job finished, each store job's run, the finalize job's wait and run, and
 * until the poll saw the request completed.
 */
async function timeline(queue: Queue, sample: Array<{ requestId: string; postedAt: number; seenAt: number }>): Promise<Record<string, number>> {
  const parts = new Map<string, number[]>();
  const add = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) parts.set(k, [...(parts.get(k) ?? []), v]);
  };
  for (const { requestId, postedAt, seenAt } of sample) {
    const entry = await queue.getJob(requestJobId(requestId));
    const fin = await queue.getJob(finalizeJobId(requestId));
    // app, cache and uploads are erased inline by the entry job (its run); only the processor has a job.
    const stores = await Promise.all(["crm"].map(async (s) => [s, await queue.getJob(storeJobId(requestId, s))] as const));
    if (!entry?.processedOn || !entry.finishedOn) continue;
    add("api_until_enqueued", entry.timestamp - postedAt);
    add("entry_wait", entry.processedOn - entry.timestamp);
    add("entry_run", entry.finishedOn - entry.processedOn);
    add("total", seenAt - postedAt);
    if (!fin?.processedOn || !fin.finishedOn) {
      // Every store finished in the entry job: no flow.
      add("until_poll_saw_it", seenAt - entry.finishedOn);
      continue;
    }
    const lastStore = Math.max(...stores.map(([, j]) => j?.finishedOn ?? 0));
    add("stores_until_last_done", lastStore - entry.finishedOn);
    for (const [s, j] of stores) {
      add(`store_${s}_wait`, j?.processedOn !== undefined ? j.processedOn - entry.finishedOn : undefined);
      add(`store_${s}_run`, j?.processedOn !== undefined && j.finishedOn !== undefined ? j.finishedOn - j.processedOn : undefined);
    }
    add("finalize_wait", fin.processedOn - lastStore);
    add("finalize_run", fin.finishedOn - fin.processedOn);
    add("until_poll_saw_it", seenAt - fin.finishedOn);
  }
  await queue.close();
  return Object.fromEntries(
    [...parts].map(([k, v]) => [
      k,
      percentile(
        [...v].sort((a, b) => a - b),
        50,
      ),
    ]),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const prefix = `b${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(join(tmpdir(), "lethe-bench-stores-"));
  const root = join(base, "root");
  const mapPath = join(base, "lethe.config.json");
  writeFileSync(mapPath, JSON.stringify(DATA_MAP(prefix)));
  const processor = await startProcessor();
  const env = letheEnv(own.url, mapPath, {
    BENCH_APP_URL: app.url,
    BENCH_CACHE_URL: REDIS_URL,
    BENCH_FILES_ROOT: root,
    BENCH_CRM_URL: processor.url,
    BENCH_CRM_SECRET: SECRET,
    LETHE_WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? "16",
    LETHE_EXPORT_DIR: join(base, "exports"),
    BENCH_COUNTS_FILE: join(countsDir(), `lethe-bench-counts-${process.pid}-${randomBytes(4).toString("hex")}.json`),
  });
  Object.assign(process.env, env);
  const redis = createRedis(REDIS_URL, "worker");
  let worker: ChildProcess | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  const ownDb = new Client({ connectionString: own.url });
  try {
    await migrate(own.url);
    const total = SUBJECTS + SAMPLE + WARMUP;
    const setup = new Client({ connectionString: app.url });
    await setup.connect();
    await setup.query(APP_SCHEMA + fillApp(total));
    await setup.end();
    await fillOtherStores(redis, prefix, root, total);

    // BENCH_CPU_PROF=<dir>: the worker writes a V8 CPU profile there when it exits.
    // The worker counts its Postgres and Redis round trips (bench/instrument.ts).
    worker = await startWorkerProcess(env, profileArgs(), [INSTRUMENT]);
    api = await startApi(loadConfig(env), { logger: createLogger("warn"), handleSignals: false });
    await ownDb.connect();
    const post = (id: number): Promise<string> => submitErasure(api!.url, API_KEY, id);
    /** Posts subjects `first`..`last`, IN_FLIGHT at a time. */
    const postRange = async (first: number, last: number): Promise<void> => {
      let next = first;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next <= last) await post(next++);
        }),
      );
    };

    // Warm-up, untimed: subjects after phase 2's.
    await postRange(SUBJECTS + SAMPLE + 1, total);
    await waitAllCompleted(ownDb, WARMUP);

    // Phase 1: throughput.
    await settleCounts();
    const tripsBefore = readRoundTrips(env.BENCH_COUNTS_FILE!);
    const cpuBefore = cpuSnapshot();
    const started = process.hrtime.bigint();
    await postRange(1, SUBJECTS);
    process.stderr.write(`enqueued ${SUBJECTS} in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)} s\n`);
    await waitAllCompleted(ownDb, WARMUP + SUBJECTS);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = cpuSplit(cpuBefore, cpuSnapshot(), worker.pid ?? -1);
    await settleCounts();
    const tripsAfter = readRoundTrips(env.BENCH_COUNTS_FILE!);
    if (tripsAfter.byStatement) {
      const per = Object.entries(tripsAfter.byStatement)
        .map(([k, n]) => [k, Number(((n - (tripsBefore.byStatement?.[k] ?? 0)) / SUBJECTS).toFixed(2))] as const)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]);
      process.stderr.write(`pg round trips per erasure by statement:\n${per.map(([k, n]) => `  ${n}  ${k}`).join("\n")}\n`);
    }
    process.stderr.write(`phase 1 CPU seconds (2 cores x ${seconds.toFixed(1)} s = ${(2 * seconds).toFixed(1)} available): ${JSON.stringify(cpu)}\n`);
    const erasuresPerS = SUBJECTS / seconds;
    process.stderr.write(`phase 1: ${SUBJECTS} erasures in ${seconds.toFixed(2)} s = ${erasuresPerS.toFixed(1)}/s\n`);

    // Phase 2: latency, one request at a time on an idle queue.
    const latencies: number[] = [];
    const sampleIds: Array<{ requestId: string; postedAt: number; seenAt: number }> = [];
    for (let id = SUBJECTS + 1; id <= SUBJECTS + SAMPLE; id++) {
      const t0 = process.hrtime.bigint();
      const postedAt = Date.now();
      const requestId = await post(id);
      for (;;) {
        const r = await ownDb.query<{ status: string }>(`SELECT status FROM lethe.subject_request WHERE id = $1`, [requestId]);
        const status = r.rows[0]?.status;
        if (status === "completed") break;
        if (status === "failed") throw new Error(`sample erasure ${requestId} failed`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      sampleIds.push({ requestId, postedAt, seenAt: Date.now() });
    }
    latencies.sort((a, b) => a - b);
    process.stderr.write(`phase 2: ${SAMPLE} sequential, min ${latencies[0]!.toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms\n`);
    process.stderr.write(
      `phase 2 median timeline (ms): ${JSON.stringify(await timeline(new Queue(QUEUES.erasure, { connection: redis, prefix: env.LETHE_QUEUE_PREFIX! }), sampleIds))}\n`,
    );

    // Every subject is gone from every store.
    const check = new Client({ connectionString: app.url });
    await check.connect();
    const left = (await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`)).rows[0]!.n;
    const comments = (await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM comments`)).rows[0]!.n;
    const unmasked = (await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE billing_email NOT LIKE '%@erased.invalid'`)).rows[0]!.n;
    await check.end();
    let keys = 0;
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) keys += batch.length;
    // The files store removes the directories it emptied (not the root).
    const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).length;
    const problems = [
      left !== 0 && `${left} users left`,
      comments !== 0 && `${comments} comments left`,
      unmasked !== 0 && `${unmasked} orders unmasked`,
      wanted("cache") && keys !== 0 && `${keys} redis keys left`,
      wanted("uploads") && files !== 0 && `${files} files left`,
      wanted("crm") && processor.erased.size !== total && `processor erased ${processor.erased.size} of ${total}`,
      processor.bad() !== 0 && `${processor.bad()} badly signed processor calls`,
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`not everything was erased: ${problems.join(", ")}`);

    process.stdout.write(
      `${JSON.stringify({
        erasures_per_s: Math.round(erasuresPerS),
        p50_ms: Number(percentile(latencies, 50).toFixed(1)),
        p95_ms: Number(percentile(latencies, 95).toFixed(1)),
        subjects: SUBJECTS,
        seconds: Number(seconds.toFixed(2)),
        sample: SAMPLE,
        warmup_erasures: WARMUP,
        stores: Object.keys(DATA_MAP(prefix).stores).length,
        globs: GLOBS,
        pg_round_trips_per_erasure: Number(((tripsAfter.pg - tripsBefore.pg) / SUBJECTS).toFixed(2)),
        redis_round_trips_per_erasure: Number(((tripsAfter.redis - tripsBefore.redis) / SUBJECTS).toFixed(2)),
        worker_cpu_ms_per_erasure: Number(((cpu.worker! * 1000) / SUBJECTS).toFixed(1)),
        worker_peak_rss_mb: worker.pid ? peakRssMb(worker.pid) : null,
      })}\n`,
    );
  } finally {
    await ownDb.end().catch(() => undefined);
    await api?.close();
    closeAgent();
    await stopWorker(worker);
    await deletePrefixKeys(redis, prefix);
    await deletePrefixKeys(redis, env.LETHE_QUEUE_PREFIX!);
    await redis.quit();
    await new Promise<void>((resolve) => processor.server.close(() => resolve()));
    rmSync(base, { recursive: true, force: true });
    rmSync(env.BENCH_COUNTS_FILE!, { force: true });
    await own.drop();
    await app.drop();
  }
}

runBench("stores", main);
