import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { Logger } from "../../logger";
import { closeRedisStore, openRedisStore, scan, whenReady, type RedisStoreClient } from "./client";
import { resolvePattern } from "./patterns";
import type { RedisStoreSpec } from "./schema";
import { readKey } from "./read";
import { csvRows, jsonRecord, REDIS_CSV_HEADER, type RecordContent } from "./records";
import type { ExportSink } from "../export-sink";
import type { ExportStoreContext, StoreExporter } from "../store-kind";

/** The subject's keys in one Redis store, found as the erasure finds them. */
export interface SubjectKeys {
  /** Keys the key patterns matched: each once, in byte order. */
  keys: Buffer[];
  /** Declared hash fields of keys no pattern matched (those are exported whole), grouped by key. */
  hashFields: Array<{ key: Buffer; fields: Buffer[] }>;
}

/**
 * Locates the subject's keys with the erasure's own resolution (`stores/redis/patterns`): exact
 * keys are looked at directly, globs are walked with SCAN MATCH with the identity values escaped.
 * A key that does not exist is simply absent from the export later (TYPE answers `none`).
 */
export async function locateSubjectKeys(redis: RedisStoreClient, store: string, spec: RedisStoreSpec, ctx: ExportStoreContext): Promise<SubjectKeys> {
  const identities = ctx.snapshot.identities;
  const keys = new Map<string, Buffer>();
  const add = (k: Buffer): void => void keys.set(k.toString("latin1"), k);
  for (const { pattern } of spec.keys) {
    ctx.signal?.throwIfAborted();
    const r = resolvePattern(pattern, identities);
    if (r.kind === "exact") add(Buffer.from(r.key));
    else if (r.kind === "match") await scan(redis, r.match, ctx.signal, async (batch) => batch.forEach(add));
  }
  const groups = new Map<string, { key: Buffer; fields: Map<string, Buffer> }>();
  for (const { key, field } of spec.hashFields) {
    const k = resolvePattern(key, identities);
    const f = resolvePattern(field, identities);
    if (k.kind === "skip" || f.kind === "skip") continue;
    if (k.kind !== "exact" || f.kind !== "exact")
      throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": hash ${key} field ${field} has a glob; hash keys and fields are exact`);
    const keyBytes = Buffer.from(k.key);
    const id = keyBytes.toString("latin1");
    if (keys.has(id)) continue;
    const group = groups.get(id) ?? { key: keyBytes, fields: new Map<string, Buffer>() };
    group.fields.set(f.key, Buffer.from(f.key));
    groups.set(id, group);
  }
  return {
    keys: [...keys.values()].sort((a, b) => Buffer.compare(a, b)),
    hashFields: [...groups.values()].map((g) => ({ key: g.key, fields: [...g.fields.values()] })),
  };
}

/** The declared fields of a hash that exist, or null when none does. A key of another type fails the export. */
async function readHashFields(redis: RedisStoreClient, store: string, key: Buffer, fields: Buffer[]): Promise<RecordContent | null> {
  const type = await redis.type(key);
  if (type === "none") return null;
  if (type !== "hash") throw new PermanentError(ERROR_CODES.storeFailed, `store "${store}": a declared hash field's key holds a ${type}, not a hash`);
  const values = await redis.hmgetBuffer(key, ...fields);
  const present = fields.flatMap((f, i): Array<[Buffer, Buffer]> => (values[i] ? [[f, values[i]]] : []));
  return present.length > 0 ? { type: "hash", partial: true, fields: present } : null;
}

/** Every record of the subject, read lazily: pattern keys, then partial hashes. */
async function* records(redis: RedisStoreClient, store: string, found: SubjectKeys, signal: AbortSignal | undefined): AsyncGenerator<[Buffer, RecordContent]> {
  for (const key of found.keys) {
    signal?.throwIfAborted();
    const content = await readKey(redis, key, signal);
    if (content) yield [key, content];
  }
  for (const { key, fields } of found.hashFields) {
    signal?.throwIfAborted();
    const content = await readHashFields(redis, store, key, fields);
    if (content) yield [key, content];
  }
}

/** `redis.json`: an array of one object per key; `counter.rows` counts the keys. */
async function* jsonDocument(all: AsyncIterable<[Buffer, RecordContent]>, counter: { rows: number }): AsyncGenerator<string> {
  yield "[";
  for await (const [key, content] of all) {
    yield counter.rows === 0 ? "\n" : ",\n";
    yield* jsonRecord(key, content);
    counter.rows++;
  }
  yield counter.rows === 0 ? "]\n" : "\n]\n";
}

/** `redis.csv`: the header and a row per value. */
async function* csvDocument(all: AsyncIterable<[Buffer, RecordContent]>, counter: { rows: number }): AsyncGenerator<string> {
  yield REDIS_CSV_HEADER;
  for await (const [key, content] of all) yield* csvRows(key, content, counter);
}

/**
 * The redis store kind's export: the subject's keys (key patterns and declared hash fields, found
 * exactly as the erasure finds them) into `data/<store>/redis.json` and `redis.csv` (formats in
 * `stores/redis/records`). Each file reads the keys afresh, page by page; Redis has no snapshot
 * to share between them, so a key written in between can differ. One lazily created connection
 * per exporter, read-only.
 */
export function redisExporter(store: string, deps: { dataMap: DataMap; logger: Logger }): StoreExporter & { close(): Promise<void> } {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "redis") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a redis store of the data map`);
  let client: RedisStoreClient | undefined;
  const redis = async (): Promise<RedisStoreClient> => {
    client ??= openRedisStore(spec, store, "export", deps.logger);
    await whenReady(client);
    return client;
  };
  return {
    kind: "redis",
    async exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void> {
      const r = await redis();
      const found = await locateSubjectKeys(r, store, spec, ctx);
      const json = { rows: 0 };
      await sink.add({
        path: `data/${store}/redis.json`,
        store,
        contentType: "application/json",
        source: jsonDocument(records(r, store, found, ctx.signal), json),
        rows: () => json.rows,
      });
      const csv = { rows: 0 };
      await sink.add({
        path: `data/${store}/redis.csv`,
        store,
        contentType: "text/csv",
        source: csvDocument(records(r, store, found, ctx.signal), csv),
        rows: () => csv.rows,
      });
      ctx.logger.debug({ store, keys: json.rows, csvRows: csv.rows }, "redis store exported");
    },
    async close() {
      const c = client;
      client = undefined;
      await closeRedisStore(c);
    },
  };
}
