import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Client } from "pg";
import { createDataSource } from "../src/db/data-source";
import { deletePrefixKeys, newQueuePrefix } from "../support/queue-prefix";
import { countsDir, INSTRUMENT, readRoundTrips, type RoundTrips } from "./round-trips";

/** Base URL of the local Postgres the benchmarks use (override with BENCH_PG_URL). */
export const PG_BASE = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
/** Redis the benchmarks use (override with BENCH_REDIS_URL). */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Where the benchmarks make their scratch databases (see support/scratch-db.ts). */
export const SCRATCH = { serverUrl: PG_BASE, serverVar: "BENCH_PG_URL" } as const;

/** Applies Lethe's migrations to `url`. */
export async function migrate(url: string): Promise<void> {
  const ds = createDataSource(url, { poolSize: 1 });
  await ds.initialize();
  await ds.runMigrations();
  await ds.destroy();
}

/** The environment of a benchmark's Lethe processes. */
export function letheEnv(databaseUrl: string, dataMapPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    LETHE_DATA_MAP: dataMapPath,
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: "bench:bench-key-0000000000000001:requests.write|requests.read",
    LETHE_QUEUE_PREFIX: newQueuePrefix("bench"),
    LOG_LEVEL: "warn",
    PORT: "0",
    ...extra,
  };
}

let built = false;

/**
 * Compiles Lethe (`npm run build`: dist/) once per benchmark process, so the worker runs as it
 * ships. Under tsx the worker also held tsx's loader and its compiled sources: about 30 MB more RSS.
 */
function buildOnce(): void {
  if (built) return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: join(__dirname, ".."), stdio: ["ignore", "ignore", "inherit"] });
  built = true;
}

/**
 * Starts `lethe worker` as a child process, compiled and run as the image runs it (`node
 * bin/lethe.js worker`), and resolves once it logs that it started. `nodeArgs` go before the
 * script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses); `preload` modules (e.g.
 * `bench/instrument.ts`, which counts round trips) are imported first, through tsx.
 */
export function startWorkerProcess(env: Record<string, string>, nodeArgs: string[] = [], preload: string[] = []): Promise<ChildProcess> {
  buildOnce();
  const imports = preload.length > 0 ? ["--import", "tsx", ...preload.flatMap((m) => ["--import", m])] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...imports, join(__dirname, "..", "bin", "lethe.js"), "worker"], {
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.includes("worker started")) {
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

/** Peak resident set size of a process, in MB, from /proc (Linux). */
export function peakRssMb(pid: number): number | null {
  try {
    const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Node flags for a worker child: a V8 CPU profile in BENCH_CPU_PROF=<dir> when it exits, and BENCH_NODE_ARGS (space-separated, e.g. `--perf-basic-prof`). */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [];
  return [...(dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/**
 * Round-trip counting in a worker child (`bench/instrument.ts`): the environment and preload to
 * start it with, and a reader of its counts so far.
 */
export function workerRoundTrips(): { env: Record<string, string>; preload: string[]; read: () => RoundTrips } {
  const file = join(countsDir(), `lethe-bench-counts-${process.pid}-${randomBytes(4).toString("hex")}.json`);
  return { env: { BENCH_COUNTS_FILE: file }, preload: [INSTRUMENT], read: () => readRoundTrips(file) };
}

/** Stops a worker child (SIGTERM, it drains) and waits for it to exit. */
export async function stopWorker(worker: ChildProcess | undefined): Promise<void> {
  if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.kill("SIGTERM");
  await exited;
}

/** Runs a benchmark's `main`; on failure, says so on stderr and exits 1. */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/**
 * Waits (polling Lethe's database `db` every 20 ms) until `n` requests have completed; throws as
 * soon as one has failed.
 */
export async function waitAllCompleted(db: Client, n: number): Promise<void> {
  for (;;) {
    const r = await db.query<{ done: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM lethe.subject_request`,
    );
    const { done, failed } = r.rows[0]!;
    if (failed > 0) throw new Error(`${failed} erasure(s) failed`);
    if (done >= n) return;
    // Every 50 ms: the count reads the whole request table, on the Postgres whose CPU the bench reports.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The end of a single-worker benchmark: the API closed, the worker stopped, its queues' keys and the scratch databases gone. */
export async function tearDown(p: {
  api?: { close(): Promise<unknown> } | undefined;
  worker?: ChildProcess | undefined;
  queuePrefix: string;
  databases: Array<{ drop(): Promise<void> }>;
}): Promise<void> {
  await p.api?.close();
  await stopWorker(p.worker);
  await deletePrefixKeys(REDIS_URL, p.queuePrefix);
  for (const db of p.databases) await db.drop();
}
