import { z } from "zod";
import { hasGlob } from "./patterns";

/**
 * The data-map declaration of a Redis store of the application (not Lethe's own Redis): key
 * patterns to UNLINK and hash fields to HDEL, with `{id}` / `{<identity>}` placeholders.
 */

/** One key pattern: exact (`session:{id}`) or a Redis glob (`cart:{id}:*`), matched with SCAN. */
export const REDIS_KEY_SCHEMA = z
  .object({
    /** Key or glob; `{id}` and `{<identity>}` are filled from the subject's identities (escaped). */
    pattern: z.string().min(1),
    description: z.string().optional(),
    /** On a rectification: `invalidate` (UNLINK the subject's keys, a cache refills) or `keep` (they hold no field). (Default: invalidate) */
    rectify: z.enum(["invalidate", "keep"]).default("invalidate"),
  })
  .strict();

const exactName = (what: string) =>
  z
    .string()
    .min(1)
    .refine(
      (s) => !hasGlob(s),
      `a hash ${what} is an exact name: glob characters (* ? [) are not supported here (escape them with \\ if they are part of the name)`,
    );

/** One hash field to delete: `field` of the hash at `key` (both exact, placeholders allowed). */
export const REDIS_HASH_FIELD_SCHEMA = z
  .object({
    key: exactName("key"),
    field: exactName("field"),
    description: z.string().optional(),
    /** The subject field this hash field holds (e.g. `email`): a rectification of it rewrites the value (HSET) instead of invalidating it. */
    holds: z.string().min(1).optional(),
    /** On a rectification of another field: `invalidate` (HDEL) or `keep`. (Default: invalidate) */
    rectify: z.enum(["invalidate", "keep"]).default("invalidate"),
  })
  .strict();

/** A Redis database of the application. */
export const REDIS_STORE_SCHEMA = z
  .object({
    kind: z.literal("redis"),
    /** Connection URL (`redis://…/<db>`); `${VAR}` is replaced from the environment. */
    url: z.string().min(1),
    /**
     * A Redis Cluster: `url` is one seed node, the other nodes are discovered; key patterns with a
     * glob are SCANned on every master. (Default: false, a single Redis.)
     */
    cluster: z.boolean().optional(),
    keys: z.array(REDIS_KEY_SCHEMA).default([]),
    hashFields: z.array(REDIS_HASH_FIELD_SCHEMA).default([]),
    /** Why this store holds personal data (Art. 30). */
    purpose: z.string().optional(),
  })
  .strict()
  .refine((s) => s.keys.length + s.hashFields.length > 0, { message: "declare at least one key pattern or hash field" });
/** A Redis store declaration. */
export type RedisStoreSpec = z.infer<typeof REDIS_STORE_SCHEMA>;
/** A key pattern declaration. */
export type RedisKeySpec = z.infer<typeof REDIS_KEY_SCHEMA>;
/** A hash field declaration. */
export type RedisHashFieldSpec = z.infer<typeof REDIS_HASH_FIELD_SCHEMA>;
