/**
 * Preloaded into a benchmark's worker process (`--import tsx --import bench/instrument-stores.ts`)
 * when BENCH_COUNTS_FILE is set: counts the process's round trips and writes the running totals
 * as JSON to that file every 50 ms and at exit, so the benchmark can take the difference over a
 * phase (`bench/round-trips.ts` reads them). Counted as `bench/instrument.ts` counts them:
 *
 * - Postgres: one per `pg` `Client#query` (Lethe's database and the application's; the pools and
 *   TypeORM go through it): one request/response exchange each.
 * - Redis: one per command ioredis sends on its own, one per pipeline, MULTI or auto-pipelined
 *   batch (Lethe's queues and the application's store, cluster nodes included).
 */
import { writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import { Client } from "pg";

const file = process.env.BENCH_COUNTS_FILE;
if (file) {
  const counts: { pg: number; redis: number; byStatement?: Record<string, number> } = { pg: 0, redis: 0 };
  // BENCH_COUNTS_BY_STATEMENT=1: also per statement (its first 80 characters), to see where they go.
  const by = process.env.BENCH_COUNTS_BY_STATEMENT === "1" ? (counts.byStatement = {} as Record<string, number>) : undefined;
  const query = Client.prototype.query as (...args: unknown[]) => unknown;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    counts.pg++;
    if (by) {
      const q = args[0];
      const text = typeof q === "string" ? q : ((q as { text?: string } | null)?.text ?? "?");
      const key = text.replace(/\s+/g, " ").trim().slice(0, 80);
      by[key] = (by[key] ?? 0) + 1;
    }
    return query.apply(this, args);
  } as typeof Client.prototype.query;
  const pipelines = new WeakSet<object>();
  const proto = Redis.prototype as unknown as { sendCommand: (command: unknown, stream?: { isPipeline?: boolean }, node?: unknown) => unknown };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: object, command: unknown, stream?: { isPipeline?: boolean }, node?: unknown) {
    if (!stream?.isPipeline) counts.redis++;
    else if (!pipelines.has(stream)) {
      pipelines.add(stream);
      counts.redis++;
    }
    return send.call(this, command, stream, node);
  };
  const flush = (): void => writeFileSync(file, JSON.stringify(counts));
  setInterval(flush, 50).unref();
  process.on("exit", flush);
}
