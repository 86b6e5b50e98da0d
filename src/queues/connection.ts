import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config";

/** Lethe's own queue connection: one Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type QueueConnection = Redis | Cluster;

const optionsOf = (role: "worker" | "producer"): RedisOptions =>
  role === "worker" ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };

/**
 * A Redis connection for BullMQ. Workers wait for Redis forever (`maxRetriesPerRequest: null`);
 * a producer (the API) fails fast so a request gets a 503 rather than hanging.
 */
export function createRedis(url: string, role: "worker" | "producer"): Redis {
  return new Redis(url, optionsOf(role));
}

/**
 * The process's queue connection as the config says: {@link createRedis}, or with
 * `redisClusterNodes` a Cluster (its queue prefix carries a hash tag, checked by the config),
 * with the credentials and TLS of `redisUrl`.
 */
export function createQueueConnection(config: Pick<Config, "redisUrl" | "redisClusterNodes">, role: "worker" | "producer"): QueueConnection {
  const options = optionsOf(role);
  if (!config.redisClusterNodes) return new Redis(config.redisUrl, options);
  const url = new URL(config.redisUrl);
  return new Cluster(
    config.redisClusterNodes.map((n) => ({ host: n.host, port: n.port })),
    {
      // A producer's Cluster must be able to learn the slots before it refuses commands.
      enableOfflineQueue: role === "worker",
      redisOptions: {
        ...options,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
        ...(url.protocol === "rediss:" ? { tls: {} } : {}),
      },
    },
  );
}
