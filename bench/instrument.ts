/**
 * Round-trip counters for the benchmarks: Postgres (node-pg: one per `Client#query`, which is one
 * request/response exchange, a multi-statement simple query included; on a pipelined client the
 * queries issued together in one tick count once) and Redis (ioredis: one per
 * command sent on its own, one per pipeline or MULTI flushed as one write). Counted, not guessed.
 *
 * In a child process: `node --import tsx --import ./bench/instrument.ts …` with
 * `BENCH_COUNTS_FILE=<path>`: the counts are written there as JSON every 100 ms (when they changed)
 * and on exit (`bench/round-trips.ts` reads them).
 * In the bench process itself: {@link installCounters}, and {@link excludeClient} for the bench's
 * own bookkeeping connections (polling, setup) so only Lethe's traffic is counted.
 */
import { writeFileSync } from "node:fs";
import pg from "pg";
import Redis from "ioredis";

/** Round trips so far. */
export interface RoundTrips {
  pg: number;
  redis: number;
}

const counts: RoundTrips & { byStatement?: Record<string, number> } = { pg: 0, redis: 0 };
/** BENCH_COUNTS_BY_STATEMENT=1: also count per statement (its first 60 characters), to see where they go. */
const byStatement: Record<string, number> | undefined = process.env.BENCH_COUNTS_BY_STATEMENT === "1" ? (counts.byStatement = {}) : undefined;
const excluded = new WeakSet<object>();
let installed = false;

/** Patches node-pg and ioredis (once per process) to count round trips. */
export function installCounters(): void {
  if (installed) return;
  installed = true;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  // On a pipelined client (node-pg `pipeline: true`), queries issued in the same tick are written
  // together and share one round trip.
  const batching = new WeakSet<object>();
  pg.Client.prototype.query = function (this: object, ...args: unknown[]) {
    const pipelined = (this as { pipeline?: boolean }).pipeline === true;
    const joins = pipelined && batching.has(this);
    if (pipelined && !joins) {
      batching.add(this);
      process.nextTick(() => batching.delete(this));
    }
    if (!excluded.has(this) && !joins) {
      counts.pg++;
      if (byStatement) {
        const first = args[0] as string | { text?: string } | undefined;
        const text = (typeof first === "string" ? first : (first?.text ?? "?")).replace(/\s+/g, " ").trim().slice(0, 60);
        byStatement[text] = (byStatement[text] ?? 0) + 1;
      }
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
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
}

/** Leaves a connection of the bench's own out of the counts. */
export function excludeClient(client: object): void {
  excluded.add(client);
}

/** The counts so far (a copy). */
export function roundTrips(): RoundTrips {
  return { ...counts };
}

const file = process.env.BENCH_COUNTS_FILE;
if (file) {
  installCounters();
  let written = "";
  const write = (): void => {
    const now = JSON.stringify(counts);
    if (now !== written) writeFileSync(file, (written = now));
  };
  setInterval(write, 100).unref();
  process.on("exit", write);
}
