import { Cluster, Redis } from "ioredis";
import type { Logger } from "../../logger";
import type { RedisStoreSpec } from "./schema";

/**
 * The connection of a redis store: one Redis, or a Redis Cluster (`cluster: true`, `url` is one
 * seed node; the others are discovered). Commands issued in the same tick go out as one pipeline
 * per node (auto-pipelining), so a set of exact keys costs one round trip per node.
 */

/** A redis store's connection: a single Redis or a Cluster. */
export type RedisStoreClient = Redis | Cluster;

/** Keys asked for per SCAN call (one call per round trip). */
export const SCAN_COUNT = 1000;

/** The most keys one UNLINK or EXISTS carries on a single Redis. */
export const KEYS_PER_COMMAND = 1000;

/** How long a command waits for the connection before it fails (and the job retries). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens a store's connection (named `lethe-<role>`). Errors are logged with their code only:
 * ioredis messages name the host.
 */
export function openRedisStore(spec: Pick<RedisStoreSpec, "url" | "cluster">, store: string, role: string, logger: Logger): RedisStoreClient {
  const options = { maxRetriesPerRequest: 2, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: `lethe-${role}` };
  let client: RedisStoreClient;
  if (spec.cluster) {
    const seed = new URL(spec.url);
    const auth = {
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      ...(seed.protocol === "rediss:" ? { tls: {} } : {}),
    };
    client = new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
      enableAutoPipelining: true,
      redisOptions: { ...options, ...auth },
    });
  } else {
    client = new Redis(spec.url, { ...options, enableAutoPipelining: true });
  }
  client.on("error", (err: NodeJS.ErrnoException) => logger.warn({ store, code: err.code ?? err.name }, "redis store connection error"));
  return client;
}

/** How long a cluster may take to learn its slots before a command fails (and the job retries). */
const CLUSTER_READY_TIMEOUT_MS = 10_000;

/**
 * Resolves once the connection can be used. A cluster must know its masters first: a SCAN walk
 * over the masters of a cluster that is still connecting would see none and find nothing.
 */
export async function whenReady(client: RedisStoreClient): Promise<void> {
  if (!(client instanceof Cluster) || client.status === "ready") return;
  if (client.status === "end" || client.status === "close") throw new Error("the redis store's cluster connection is closed");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error("the redis store's cluster did not become ready in time")), CLUSTER_READY_TIMEOUT_MS);
    const onReady = () => done();
    const onEnd = () => done(new Error("the redis store's cluster connection ended"));
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("end", onEnd);
      if (err) reject(err);
      else resolve();
    };
    client.once("ready", onReady);
    client.once("end", onEnd);
  });
}

/** Closes a store connection opened by {@link openRedisStore}, whatever state it is in. */
export async function closeRedisStore(client: RedisStoreClient | undefined): Promise<void> {
  if (!client) return;
  if (client.status === "ready") await client.quit().catch(() => client.disconnect());
  else if (client.status !== "end") client.disconnect();
}

/** The nodes a SCAN must walk: every master of a cluster, or the one Redis. */
export function scanNodes(client: RedisStoreClient): Redis[] {
  if (!(client instanceof Cluster)) return [client];
  const masters = client.nodes("master");
  // No master known: walking none would report nothing found. Fail (retryable) instead.
  if (masters.length === 0) throw new Error("the redis store's cluster has no known master");
  return masters;
}

/**
 * Walks SCAN MATCH to the end on every node (every master of a cluster), handing each non-empty
 * batch (binary-safe keys) to `onBatch`. A key is seen at least once; SCAN may repeat a key.
 */
export async function scan(
  client: RedisStoreClient,
  match: string,
  signal: AbortSignal | undefined,
  onBatch: (keys: Buffer[]) => Promise<void>,
): Promise<void> {
  for (const node of scanNodes(client)) {
    let cursor = "0";
    do {
      signal?.throwIfAborted();
      const [next, keys] = await node.scanBuffer(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
      cursor = next.toString();
      for (let i = 0; i < keys.length; i += KEYS_PER_COMMAND) await onBatch(keys.slice(i, i + KEYS_PER_COMMAND));
    } while (cursor !== "0");
  }
}

/**
 * UNLINKs `keys` and, in the same round trip, asks which still EXIST (a key written again by the
 * application between the two commands). On a cluster each key is its own command (keys of one
 * batch may sit in different slots), pipelined per node.
 */
export async function unlinkAndCheck(client: RedisStoreClient, keys: Array<Buffer | string>): Promise<{ unlinked: number; remaining: number }> {
  if (keys.length === 0) return { unlinked: 0, remaining: 0 };
  if (client instanceof Cluster) {
    const unlinked = keys.map((k) => client.unlink(k));
    const exists = keys.map((k) => client.exists(k));
    const sum = async (ps: Array<Promise<number>>) => (await Promise.all(ps)).reduce((a, b) => a + b, 0);
    return { unlinked: await sum(unlinked), remaining: await sum(exists) };
  }
  const [unlinked, remaining] = await Promise.all([client.unlink(...keys), client.exists(...keys)]);
  return { unlinked, remaining };
}
