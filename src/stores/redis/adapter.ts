import { ERROR_CODES, PermanentError, VerificationFailure } from "../../errors";
import type { StepCount } from "../../types";
import type { StoreAdapter, StoreDeps, StoreRunContext } from "../store-kind";
import { closeRedisStore, openRedisStore, scan, unlinkAndCheck, whenReady, type RedisStoreClient } from "./client";
import { resolvePattern, type ResolvedPattern } from "./patterns";
import type { RedisStoreSpec } from "./schema";

/** What one target's erasure did: units removed, and units found again right after (the same round trip). */
interface Erased {
  removed: number;
  remaining: number;
}

/** One declared target (a key pattern or a hash field), as a step names it. */
interface Target {
  /** The step's `table`: the pattern as written in the data map, never a filled-in value. */
  table: string;
  /** What is left over, for verify messages. */
  unit: "key" | "field";
  count(redis: RedisStoreClient, ctx: StoreRunContext): Promise<number>;
  erase(redis: RedisStoreClient, ctx: StoreRunContext): Promise<Erased>;
}

/**
 * The redis store kind: an application's Redis or Redis Cluster (its own URL, one lazily created
 * connection per adapter). One walk erases and verifies: an exact key is UNLINKed and checked
 * with EXISTS in the same round trip; a glob is walked once with SCAN MATCH (every master of a
 * cluster) and each batch found is UNLINKed and checked the same way; a hash field is HDELed and
 * checked with HEXISTS. Every target's commands go out together (auto-pipelined), and a key found
 * again fails the erasure (retried) before it is recorded. Every operation is idempotent.
 */
export function redisAdapter(store: string, deps: StoreDeps): StoreAdapter & { close(): Promise<void> } {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "redis") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a redis store of the data map`);
  const targets = targetsOf(spec, store);
  let client: RedisStoreClient | undefined;
  const redis = async (): Promise<RedisStoreClient> => {
    client ??= openRedisStore(spec, store, "erasure", deps.logger);
    await whenReady(client);
    return client;
  };
  const counts = async (ctx: StoreRunContext): Promise<number[]> => {
    const r = await redis();
    ctx.signal?.throwIfAborted();
    return Promise.all(targets.map((t) => t.count(r, ctx)));
  };
  return {
    kind: "redis",
    verifiesBeforeCommit: true,
    async preview(ctx) {
      const n = await counts(ctx);
      return targets.map((t, i): StepCount => ({ store, table: t.table, action: "delete", rows: n[i]! }));
    },
    async erase(ctx, record) {
      const r = await redis();
      ctx.signal?.throwIfAborted();
      // Every target runs to its end before an error is thrown, so a retry never overlaps a walk.
      const erased = await settled(targets.map((t) => t.erase(r, ctx)));
      const left = targets.flatMap((t, i) => (erased[i]!.remaining > 0 ? [`redis ${t.table}: ${erased[i]!.remaining} ${t.unit}(s) written again`] : []));
      // The application wrote a key back between UNLINK and EXISTS: not erased, try again.
      if (left.length > 0) throw new VerificationFailure(left.map((l) => `${store}: ${l}`));
      const done = targets.map((t, i): StepCount => ({ store, table: t.table, action: "delete", rows: erased[i]!.removed }));
      await record(done);
      return { state: "done", steps: done };
    },
    async verify(ctx) {
      const n = await counts(ctx);
      return targets.flatMap((t, i) => (n[i]! > 0 ? [`redis ${t.table}: ${n[i]} ${t.unit}(s) remain`] : []));
    },
    async close() {
      const c = client;
      client = undefined;
      await closeRedisStore(c);
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
      if (skipped(ctx, pattern, r)) return { removed: 0, remaining: 0 };
      if (r.kind === "exact") {
        const { unlinked, remaining } = await unlinkAndCheck(redis, [r.key]);
        return { removed: unlinked, remaining };
      }
      const out: Erased = { removed: 0, remaining: 0 };
      await scan(redis, r.match, ctx.signal, async (batch) => {
        const { unlinked, remaining } = await unlinkAndCheck(redis, batch);
        out.removed += unlinked;
        out.remaining += remaining;
      });
      return out;
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
        if (!r) return { removed: 0, remaining: 0 };
        const [removed, remaining] = await Promise.all([
          wrongType(table, store, redis.hdel(r.key, r.field)),
          wrongType(table, store, redis.hexists(r.key, r.field)),
        ]);
        return { removed, remaining };
      },
    };
  });
  return [...keys, ...fields];
}

/** `Promise.all` that waits for every promise before it throws the first error. */
async function settled<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
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
