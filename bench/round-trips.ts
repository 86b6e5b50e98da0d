import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The preload that makes a worker child count its round trips into BENCH_COUNTS_FILE (`bench/instrument.ts`). */
export const INSTRUMENT = join(__dirname, "instrument.ts");

/** Round trips counted so far. */
export interface RoundTrips {
  pg: number;
  redis: number;
  /** With BENCH_COUNTS_BY_STATEMENT=1: Postgres round trips by statement (its first 60 characters). */
  byStatement?: Record<string, number>;
}

/** The counts an instrumented worker wrote to `file` (zero before its first write). */
export function readRoundTrips(file: string): RoundTrips {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RoundTrips;
  } catch {
    return { pg: 0, redis: 0 };
  }
}

/** The sum of the counts of several workers' files. */
export function sumRoundTrips(files: string[]): RoundTrips {
  return files.map(readRoundTrips).reduce((a, b) => ({ pg: a.pg + b.pg, redis: a.redis + b.redis }), { pg: 0, redis: 0 });
}

/** Waits until instrumented workers have written their latest counts (they write every 100 ms when they changed). */
export function settleCounts(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 250));
}

/** Where instrumented workers write their counts: memory (/dev/shm) where there is one, so the writes cost the measured worker little. */
export function countsDir(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}
