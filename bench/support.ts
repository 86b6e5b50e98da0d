import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDataSource } from "../src/db/data-source";
import { newQueuePrefix } from "../support/queue-prefix";
import { INSTRUMENT, readRoundTrips, type RoundTrips } from "./round-trips";

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

/**
 * Starts `lethe worker` as a child process and resolves once it logs that it started.
 * `nodeArgs` go before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses); `preload`
 * modules are imported after tsx (e.g. `bench/instrument.ts`).
 */
export function startWorkerProcess(env: Record<string, string>, nodeArgs: string[] = [], preload: string[] = []): Promise<ChildProcess> {
  const imports = preload.flatMap((m) => ["--import", m]);
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", ...imports, join(__dirname, "..", "workers", "worker.ts")], {
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

/** Node flags for a worker child: a V8 CPU profile in BENCH_CPU_PROF=<dir> when it exits. */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/**
 * Round-trip counting in a worker child (`bench/instrument.ts`): the environment and preload to
 * start it with, and a reader of its counts so far.
 */
export function workerRoundTrips(): { env: Record<string, string>; preload: string[]; read: () => RoundTrips } {
  const file = join(tmpdir(), `lethe-bench-counts-${process.pid}-${randomBytes(4).toString("hex")}.json`);
  return { env: { BENCH_COUNTS_FILE: file }, preload: [INSTRUMENT], read: () => readRoundTrips(file) };
}
