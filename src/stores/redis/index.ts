import type { StoreKind } from "../store-kind";
import { redisAdapter } from "./adapter";
import { checkRedisStore, REDIS_CHECK_RULES, type RedisCheckRule } from "./check";
import { redisExporter } from "./exporter";
import { REDIS_RIGHTS } from "./rights";
import { REDIS_STORE_SCHEMA } from "./schema";

/**
 * The redis store kind: an application's Redis (its own URL), where the subject's data is found
 * by declared key patterns and hash fields with `{id}` / `{<identity>}` placeholders. Erased with
 * UNLINK / HDEL; exported as `data/<store>/redis.json|csv`.
 */
export const redisKind: StoreKind<typeof REDIS_STORE_SCHEMA, RedisCheckRule> = {
  kind: "redis",
  schema: REDIS_STORE_SCHEMA,
  sweeps: false,
  interpolate(spec, fill) {
    spec.url = fill("url", spec.url);
  },
  checkRules: REDIS_CHECK_RULES,
  check: (map, name, spec) => checkRedisStore(map, name, spec),
  summary: () => "redis",
  adapter: redisAdapter,
  exporter: redisExporter,
  rights: REDIS_RIGHTS,
  describe(_store, spec, entries) {
    // Its JSON and CSV files are linked from the one row of the store.
    const data = entries.filter((e) => e.table === undefined);
    return {
      rows: [
        {
          label: "key-value store",
          purpose: spec.purpose,
          categories: new Map(),
          rows: data.find((f) => f.contentType === "application/json")?.rows ?? 0,
          files: data,
        },
      ],
    };
  },
};
