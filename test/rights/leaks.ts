import type { RightsWorld } from "./fixture";

/**
 * Where a personal value could leak inside Lethe: its logs, every key and value under the test's
 * queue prefix in Redis (job data, return values, events), and every row of Lethe's own tables
 * as text (sealed columns are ciphertext). Returns `<where>: <marker>` for each hit.
 */
export async function markerLeaks(w: Pick<RightsWorld, "logs" | "h" | "config">, markers: string[]): Promise<string[]> {
  const hits: string[] = [];
  const check = (where: string, text: string) => {
    for (const m of markers) if (text.includes(m)) hits.push(`${where}: ${m}`);
  };
  check("logs", w.logs.join(""));
  const redis = w.h.redis;
  for await (const keys of redis.scanStream({ match: `${w.config.queuePrefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
    for (const key of keys) {
      check(`redis key ${key}`, key);
      const type = await redis.type(key);
      const value =
        type === "string"
          ? ((await redis.get(key)) ?? "")
          : type === "hash"
            ? JSON.stringify(await redis.hgetall(key))
            : type === "list"
              ? JSON.stringify(await redis.lrange(key, 0, -1))
              : type === "zset"
                ? JSON.stringify(await redis.zrange(key, 0, -1))
                : type === "set"
                  ? JSON.stringify(await redis.smembers(key))
                  : type === "stream"
                    ? JSON.stringify(await redis.xrange(key, "-", "+"))
                    : "";
      check(`redis ${key}`, value);
    }
  }
  const tables = (await w.h.ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'lethe'`)) as Array<{ tablename: string }>;
  for (const { tablename } of tables) {
    const rows = (await w.h.ds.query(`SELECT row_to_json(t)::text AS j FROM lethe."${tablename}" t`)) as Array<{ j: string }>;
    for (const r of rows) check(`lethe.${tablename}`, r.j);
  }
  return hits;
}
