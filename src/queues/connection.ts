import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection for BullMQ. Workers wait for Redis forever (`maxRetriesPerRequest: null`);
 * a producer (the API) fails fast so a request gets a 503 rather than hanging.
 */
export function createRedis(url: string, role: "worker" | "producer"): Redis {
  const options: RedisOptions =
    role === "worker" ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  return new Redis(url, options);
}
