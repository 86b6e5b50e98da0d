import { ERROR_CODES, PermanentError } from "../../errors";
import type { FieldRef, RightsKind, RightsStep, StoreRights } from "../rights-side";
import type { StoreDeps } from "../store-kind";
import { closeRedisStore, openRedisStore, scan, unlinkAndCheck, whenReady, type RedisStoreClient } from "./client";
import { resolvePattern } from "./patterns";
import type { RedisStoreSpec } from "./schema";

/**
 * The rights side of the redis kind. A rectification (or an erasure of fields) makes the
 * subject's cached copies stop saying the old value: key patterns are invalidated (UNLINK, the
 * application refills them), a hash field that `holds` a changed field is rewritten (HSET), other
 * hash fields are invalidated (HDEL); `rectify: "keep"` leaves a pattern alone. Keys are found
 * with the identities as they were before the change. Every operation is idempotent, so a
 * repeated run after a crash changes nothing more.
 */
function openRedisRights(store: string, deps: StoreDeps): StoreRights {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "redis") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a redis store of the data map`);
  let client: RedisStoreClient | undefined;
  const connect = async (): Promise<RedisStoreClient> => {
    client ??= openRedisStore(spec, store, "rights", deps.logger);
    await whenReady(client);
    return client;
  };
  return {
    async rectify(ctx, changes, record) {
      const identities = ctx.snapshot.identities;
      const conn = await connect();
      const redis = () => conn;
      const steps: RightsStep[] = [];
      const changed = changes.map((c) => c.field);
      for (const k of spec.keys) {
        if (k.rectify === "keep") continue;
        ctx.signal?.throwIfAborted();
        const r = resolvePattern(k.pattern, identities);
        let n = 0;
        if (r.kind === "exact") n = await redis().unlink(r.key);
        else if (r.kind === "match") {
          await scan(redis(), r.match, ctx.signal, async (batch) => {
            n += (await unlinkAndCheck(redis(), batch)).unlinked;
          });
        }
        steps.push({ table: k.pattern, action: "invalidated", rows: n, fields: changed });
      }
      for (const h of spec.hashFields) {
        const change = h.holds === undefined ? undefined : changes.find((c) => c.field === h.holds);
        if (!change && h.rectify === "keep") continue;
        const key = resolvePattern(h.key, identities);
        const field = resolvePattern(h.field, identities);
        const table = `hash ${h.key} field ${h.field}`;
        if (key.kind !== "exact" || field.kind !== "exact") {
          steps.push({ table, action: change && !change.erase ? "rewritten" : "invalidated", rows: 0, fields: change ? [change.field] : changed });
          continue;
        }
        if (change && !change.erase && change.value !== null) {
          const existed = await redis().hexists(key.key, field.key);
          if (existed) await redis().hset(key.key, field.key, change.value);
          steps.push({ table, action: "rewritten", rows: existed, fields: [change.field] });
        } else {
          steps.push({ table, action: "invalidated", rows: await redis().hdel(key.key, field.key), fields: change ? [change.field] : changed });
        }
      }
      await record(steps, null);
      return { state: "done", steps };
    },
    async close() {
      const c = client;
      client = undefined;
      await closeRedisStore(c);
    },
  };
}

/** The `holds` declarations of a store, with their key paths (checked against the subject's fields). */
function redisFieldRefs(spec: RedisStoreSpec): FieldRef[] {
  return spec.hashFields.flatMap((h, i) => (h.holds === undefined ? [] : [{ path: ["hashFields", i, "holds"], field: h.holds }]));
}

/** The rights member of the redis kind. */
export const REDIS_RIGHTS: RightsKind<RedisStoreSpec> = {
  isRecipient: false,
  fieldRefs: redisFieldRefs,
  open: openRedisRights,
};
