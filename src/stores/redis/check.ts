import { Redis } from "ioredis";
import type { DataMap } from "../../datamap/schema";
import { placeholderProblems } from "../store-check";
import type { StoreCheckProblem } from "../store-kind";
import { broadness } from "./patterns";
import type { RedisStoreSpec } from "./schema";

/** The `lethe check` rules of redis stores. */
export const REDIS_CHECK_RULES = ["store-unreachable", "pattern-without-placeholder", "unknown-placeholder", "pattern-too-broad"] as const;
/** One of {@link REDIS_CHECK_RULES}. */
export type RedisCheckRule = (typeof REDIS_CHECK_RULES)[number];

const PING_TIMEOUT_MS = 5_000;

/**
 * Checks one redis store: every key pattern and hash field is confined to one subject (pure),
 * and the store answers PING. Messages never contain the URL.
 */
export async function checkRedisStore(map: DataMap, name: string, spec: RedisStoreSpec): Promise<Array<StoreCheckProblem<RedisCheckRule>>> {
  const problems = redisPatternProblems(map, name, spec);
  const unreachable = await ping(spec.url);
  if (unreachable) problems.unshift({ key: `stores.${name}.url`, rule: "store-unreachable", message: `cannot reach the redis store (${unreachable})` });
  return problems;
}

/** The pattern rules of one redis store, without I/O. */
export function redisPatternProblems(map: DataMap, name: string, spec: RedisStoreSpec): Array<StoreCheckProblem<RedisCheckRule>> {
  const at = `stores.${name}`;
  const problems: Array<StoreCheckProblem<RedisCheckRule>> = [];
  spec.keys.forEach(({ pattern }, i) => {
    const key = `${at}.keys.${i}.pattern`;
    problems.push(...placeholderProblems(key, pattern, map.subject.identities));
    const broad = broadness(pattern);
    if (broad) problems.push({ key, rule: "pattern-too-broad", message: `pattern "${pattern}" is too broad: ${broad}` });
  });
  spec.hashFields.forEach(({ key, field }, i) => {
    const path = `${at}.hashFields.${i}`;
    const both = `${key} ${field}`;
    const found = placeholderProblems(path, both, map.subject.identities);
    // Key and field together need one placeholder: `profiles` + `{id}`, or `user:{id}` + `name`.
    problems.push(
      ...found.map((p) =>
        p.rule === "pattern-without-placeholder"
          ? {
              ...p,
              message: `hash key "${key}" and field "${field}" have no placeholder, so the field of every subject would be deleted; include {id} or an identity in either`,
            }
          : p,
      ),
    );
  });
  return problems;
}

/** Null when the store answers PING; else a short reason (an error code, never the URL). */
async function ping(url: string): Promise<string | null> {
  let last: unknown;
  let redis: Redis;
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: PING_TIMEOUT_MS,
      enableOfflineQueue: true,
    });
  } catch (err) {
    return `the URL cannot be used: ${describe(err)}`;
  }
  redis.on("error", (err: unknown) => (last = err));
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === "PONG" ? null : "unexpected PING reply";
  } catch (err) {
    return describe(last ?? err);
  } finally {
    // After a failed connect the client has ended; disconnecting again would arm a 2 s timer.
    if (redis.status !== "end") redis.disconnect();
  }
}

/** An error's code (`ECONNREFUSED`), or the first word of a server reply (`NOAUTH`, `WRONGPASS`). */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  if (err instanceof Error && err.name === "ReplyError") return err.message.split(" ")[0] ?? "server error";
  return err instanceof Error ? err.name : "unknown error";
}
