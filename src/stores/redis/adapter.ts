import { Redis } from "ioredis";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { StepCount } from "../../types";
import type { StoreAdapter, StoreDeps, StoreRunContext } from "../store-kind";
import { resolvePattern, type ResolvedPattern } from "./patterns";
import type { RedisStoreSpec } from "./schema";

/** Keys asked for per SCAN call, and the most keys one UNLINK carries. */
export const SCAN_COUNT = 1000;

/** How long a command waits for the connection before it fails (and the job retries). */
const CONNECT_TIMEOUT_MS = 10_000;

/** One declared target (a key pattern or a hash field), as a step names it. */
interface Target {
  /** The step's `table`: the pattern as written in the data map, never a filled-in value. */
  table: string;
  /** What is left over, for verify messages. */
  unit: "key" | "field";
  count(redis: Redis, ctx: StoreRunContext): Promise<number>;
  erase(redis: Redis, ctx: StoreRunContext): Promise<number>;
}

/**
 * The redis store kind: an application's Redis (its own URL, one lazily created connection per
 * adapter). Key patterns with a glob are walked with SCAN MATCH and UNLINKed in batches; exact keys
 * are UNLINKed directly; hash fields are HDELed. Every operation is idempotent.
 */
export function redisAdapter(store: string, deps: StoreDeps): StoreAdapter & { close(): Promise<void> } {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "redis") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a redis store of the data map`);
  const targets = targetsOf(spec, store);
  let client: Redis | undefined;
  const redis = (): Redis => {
    if (!client) {
      client = new Redis(spec.url, { maxRetriesPerRequest: 2, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: "lethe-erasure" });
      // Only the code: ioredis messages name the host.
      client.on("error", (err: NodeJS.ErrnoException) => deps.logger.warn({ store, code: err.code ?? err.name }, "redis store connection error"));
    }
    return client;
  };
  const steps = async (ctx: StoreRunContext, op: "count" | "erase"): Promise<StepCount[]> => {
    const out: StepCount[] = [];
    for (const t of targets) {
      ctx.signal?.throwIfAborted();
      out.push({ store, table: t.table, action: "delete", rows: await t[op](redis(), ctx) });
    }
    return out;
  };
  return {
    kind: "redis",
    preview(ctx) {
      return steps(ctx, "count");
    },
    async erase(ctx, record) {
      const done = await steps(ctx, "erase");
      await record(done);
      return { state: "done", steps: done };
    },
    async verify(ctx) {
      const leftovers: string[] = [];
      for (const t of targets) {
        const n = await t.count(redis(), ctx);
        if (n > 0) leftovers.push(`redis ${t.table}: ${n} ${t.unit}(s) remain`);
      }
      return leftovers;
    },
    async close() {
      const c = client;
      client = undefined;
      if (!c) return;
      if (c.status === "ready") await c.quit().catch(() => c.disconnect());
      else if (c.status !== "end") c.disconnect();
    },
  };
}

/** The declared key patterns and hash fields as steps. */
function targetsOf(spec: RedisStoreSpec, store: string): Target[] {
  const skipped = (ctx: StoreRunContext, table: string, r: ResolvedPattern): r is { kind: "skip"; missing: string } => {
    if (r.kind !== "skip") return false;
    ctx.logger.debug({ store, pattern: table, missing: r.missing }, "pattern skipped: the subject has no value for its placeholder");
    return true;
  };
  const keys = spec.keys.map(({ pattern }): Target => ({
    table: pattern,
    unit: "key",
    async count(redis, ctx) {
      const r = resolvePattern(pattern, ctx.snapshot.identities);
      if (skipped(ctx, pattern, r)) return 0;
      if (r.kind === "exact") return redis.exists(r.key);
      const seen = new Set<string>();
      await scan(redis, r.match, ctx.signal, async (batch) => {
        for (const k of batch) seen.add(k.toString("latin1"));
      });
      return seen.size;
    },
    async erase(redis, ctx) {
      const r = resolvePattern(pattern, ctx.snapshot.identities);
      if (skipped(ctx, pattern, r)) return 0;
      if (r.kind === "exact") return redis.unlink(r.key);
      let n = 0;
      await scan(redis, r.match, ctx.signal, async (batch) => {
        n += await redis.unlink(...batch);
      });
      return n;
    },
  }));
  const fields = spec.hashFields.map(({ key, field }): Target => {
    const table = `hash ${key} field ${field}`;
    const resolve = (ctx: StoreRunContext): { key: string; field: string } | null => {
      const k = resolvePattern(key, ctx.snapshot.identities);
      const f = resolvePattern(field, ctx.snapshot.identities);
      if (skipped(ctx, table, k) || skipped(ctx, table, f)) return null;
      if (k.kind !== "exact" || f.kind !== "exact")
        throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": ${table} has a glob; hash keys and fields are exact`);
      return { key: k.key, field: f.key };
    };
    return {
      table,
      unit: "field",
      async count(redis, ctx) {
        const r = resolve(ctx);
        return r ? wrongType(table, store, redis.hexists(r.key, r.field)) : 0;
      },
      async erase(redis, ctx) {
        const r = resolve(ctx);
        return r ? wrongType(table, store, redis.hdel(r.key, r.field)) : 0;
      },
    };
  });
  return [...keys, ...fields];
}

/** Walks SCAN MATCH to the end, handing each non-empty batch (at most {@link SCAN_COUNT} keys, binary-safe) to `onBatch`. */
export async function scan(redis: Redis, match: string, signal: AbortSignal | undefined, onBatch: (keys: Buffer[]) => Promise<void>): Promise<void> {
  let cursor = "0";
  do {
    signal?.throwIfAborted();
    const [next, keys] = await redis.scanBuffer(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
    cursor = next.toString();
    for (let i = 0; i < keys.length; i += SCAN_COUNT) await onBatch(keys.slice(i, i + SCAN_COUNT));
  } while (cursor !== "0");
}

/** A key of the wrong type cannot become a hash by retrying: a permanent error naming the pattern only. */
async function wrongType(table: string, store: string, op: Promise<number>): Promise<number> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("WRONGTYPE")) {
      throw new PermanentError(ERROR_CODES.storeFailed, `store "${store}": ${table}: the key holds another type than a hash`, { cause: err });
    }
    throw err;
  }
}
