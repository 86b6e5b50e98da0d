import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/**
 * Throw-away Redis namespaces for the tests, the demo and the benchmarks: each run gets its own
 * BullMQ queue prefix (so runs sharing one Redis never see each other's queues) and deletes
 * every key under it at the end, with SCAN and UNLINK, never FLUSHALL.
 */

/** The local Redis. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const PREFIX = /^[A-Za-z0-9_-]+$/;

/** A fresh queue prefix: `stem` and 8 random hex digits (letters, digits, `_` and `-` only). */
export function newQueuePrefix(stem: string): string {
  const prefix = `${stem}${randomBytes(4).toString("hex")}`;
  if (!PREFIX.test(prefix)) throw new RangeError("a queue prefix stem is letters, digits, _ or - only");
  return prefix;
}

/** Runs `fn` with `redis`, or with a connection of its own to the URL (closed afterwards). */
async function withRedis<T>(redis: Redis | string, fn: (r: Redis) => Promise<T>): Promise<T> {
  if (typeof redis !== "string") return fn(redis);
  const own = new Redis(redis, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await own.connect();
    return await fn(own);
  } finally {
    await own.quit().catch(() => own.disconnect());
  }
}

/** Every key under `<prefix>:`, sorted. */
export async function prefixKeys(redis: Redis | string, prefix: string): Promise<string[]> {
  if (!PREFIX.test(prefix)) throw new RangeError("the queue prefix must be letters, digits, _ or -");
  return withRedis(redis, async (r) => {
    const out = new Set<string>();
    for await (const keys of r.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) for (const k of keys) out.add(k);
    return [...out].sort();
  });
}

/** Deletes every key under `<prefix>:` (SCAN + UNLINK); returns how many. */
export async function deletePrefixKeys(redis: Redis | string, prefix: string): Promise<number> {
  if (!PREFIX.test(prefix)) throw new RangeError("the queue prefix must be letters, digits, _ or - to be cleaned up");
  return withRedis(redis, async (r) => {
    let deleted = 0;
    for await (const keys of r.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await r.unlink(...keys);
    }
    return deleted;
  });
}

/** Fails fast, naming the host (and `redisVar`, the variable to set), when Redis does not answer. */
export async function pingRedis(redisUrl: string, redisVar?: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const { hostname, port } = new URL(redisUrl);
    throw new Error(`Redis at ${hostname}:${port || 6379} does not answer; start it${redisVar ? ` or set ${redisVar}` : ""}`, { cause: err });
  } finally {
    redis.disconnect();
  }
}
