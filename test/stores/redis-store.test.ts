import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { checkDataMap } from "../../src/datamap/check";
import { DataMapError } from "../../src/datamap/load";
import { PermanentError } from "../../src/errors";
import type { DataMap } from "../../src/datamap/schema";
import { redisAdapter } from "../../src/stores/redis/adapter";
import { checkRedisStore } from "../../src/stores/redis/check";
import type { RedisStoreSpec } from "../../src/stores/redis/schema";
import { ctxFor, depsFor, mapWith, recorder, rowsByTable } from "./store-helpers";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let redis: Redis;
let P: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
beforeEach(() => {
  P = `lt${randomBytes(5).toString("hex")}`;
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  for await (const keys of redis.scanStream({ match: `${P}:*`, count: 1000 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) await redis.unlink(...keys);
  }
});
afterAll(async () => {
  await redis.quit();
});

/** The example store, under this test's key prefix. */
function cacheSpec(): Record<string, unknown> {
  return {
    kind: "redis",
    url: "${APP_REDIS_URL}",
    keys: [{ pattern: `${P}:session:{id}` }, { pattern: `${P}:cart:{id}:*` }, { pattern: `${P}:user:{email}` }],
    hashFields: [{ key: `${P}:profiles`, field: "{id}" }],
  };
}

function adapterFor(map: DataMap) {
  const a = redisAdapter("cache", depsFor(map));
  closers.push(() => a.close());
  return a;
}

const cacheMap = () => mapWith("cache", cacheSpec(), { APP_REDIS_URL: REDIS_URL });

async function existing(keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const k of keys) if ((await redis.exists(k)) === 1) out.push(k);
  return out;
}

describe("redis store: erase", () => {
  it("erases exactly the subject's exact, globbed, email-based keys and hash field; counts; idempotent; verifies", async () => {
    const CART_KEYS = 2500; // more than one SCAN/UNLINK batch
    const mine = [`${P}:session:42`, `${P}:user:a@example.com`];
    const others = [`${P}:session:7`, `${P}:session:420`, `${P}:cart:7:1`, `${P}:cart:420:1`, `${P}:cart:4:1`, `${P}:user:b@example.com`, `${P}:sessions:42`];
    const pipe = redis.pipeline();
    for (const k of [...mine, ...others]) pipe.set(k, "x");
    for (let i = 0; i < CART_KEYS; i++) pipe.rpush(`${P}:cart:42:${i}`, "item");
    pipe.hset(`${P}:profiles`, { "42": "mine", "7": "other", "420": "other" });
    await pipe.exec();

    const adapter = adapterFor(cacheMap());
    const ctx = ctxFor("cache", { id: "42", email: "a@example.com" });
    const expected = { [`${P}:session:{id}`]: 1, [`${P}:cart:{id}:*`]: CART_KEYS, [`${P}:user:{email}`]: 1, [`hash ${P}:profiles field {id}`]: 1 };

    const preview = await adapter.preview(ctx);
    expect(rowsByTable(preview)).toEqual(expected);
    expect(preview.every((s) => s.store === "cache" && s.action === "delete")).toBe(true);
    expect(await existing(mine)).toEqual(mine); // preview changed nothing
    expect(await adapter.verify(ctx)).toEqual([
      `redis ${P}:session:{id}: 1 key(s) remain`,
      `redis ${P}:cart:{id}:*: ${CART_KEYS} key(s) remain`,
      `redis ${P}:user:{email}: 1 key(s) remain`,
      `redis hash ${P}:profiles field {id}: 1 field(s) remain`,
    ]);

    const { calls, record } = recorder();
    const outcome = await adapter.erase(ctx, record);
    expect(outcome.state).toBe("done");
    expect(rowsByTable(outcome.steps)).toEqual(expected);
    expect(calls).toEqual([outcome.steps]);

    expect(await existing(mine)).toEqual([]);
    expect(await redis.keys(`${P}:cart:42:*`)).toEqual([]);
    expect(await existing(others)).toEqual(others);
    expect(await redis.hgetall(`${P}:profiles`)).toEqual({ "7": "other", "420": "other" });

    const again = await adapter.erase(ctx, recorder().record);
    expect(again.steps.map((s) => s.rows)).toEqual([0, 0, 0, 0]);
    expect(await adapter.verify(ctx)).toEqual([]);
    expect(await existing(others)).toEqual(others);
  });

  it("escapes glob characters in identity values so they cannot widen a pattern", async () => {
    const id = "a*?[b]\\";
    const mine = [`${P}:session:${id}`, `${P}:cart:${id}:1`, `${P}:cart:${id}:2`];
    const others = [`${P}:session:ab`, `${P}:session:a`, `${P}:cart:a:1`, `${P}:cart:axyb\\:1`, `${P}:cart:a*x[b]\\:1`, `${P}:cart:abcb\\:1`];
    await redis.mset(Object.fromEntries([...mine, ...others].map((k) => [k, "x"])));
    await redis.hset(`${P}:profiles`, { [id]: "mine", a: "other", ab: "other" });

    const adapter = adapterFor(cacheMap());
    const ctx = ctxFor("cache", { id });
    const done = await adapter.erase(ctx, recorder().record);
    expect(rowsByTable(done.steps)).toEqual({
      [`${P}:session:{id}`]: 1,
      [`${P}:cart:{id}:*`]: 2,
      [`${P}:user:{email}`]: 0,
      [`hash ${P}:profiles field {id}`]: 1,
    });
    expect(await existing(mine)).toEqual([]);
    expect(await existing(others)).toEqual(others);
    expect(await redis.hgetall(`${P}:profiles`)).toEqual({ a: "other", ab: "other" });
  });

  it("skips a pattern whose identity the snapshot lacks (rows 0) and leaves matching-looking keys alone", async () => {
    await redis.mset({ [`${P}:user:`]: "x", [`${P}:user:b@example.com`]: "x", [`${P}:session:42`]: "x" });
    const adapter = adapterFor(cacheMap());
    for (const identities of [{ id: "42" }, { id: "42", email: "" }] as Array<Record<string, string>>) {
      const ctx = ctxFor("cache", identities);
      const done = await adapter.erase(ctx, recorder().record);
      expect(done.steps.find((s) => s.table === `${P}:user:{email}`)).toEqual({ store: "cache", table: `${P}:user:{email}`, action: "delete", rows: 0 });
      expect(await adapter.verify(ctx)).toEqual([]);
    }
    expect(await existing([`${P}:user:`, `${P}:user:b@example.com`, `${P}:session:42`])).toEqual([`${P}:user:`, `${P}:user:b@example.com`]);
  });

  it("opens its connection lazily, closes it, and reconnects when used again", async () => {
    await redis.set(`${P}:session:42`, "x");
    const adapter = adapterFor(cacheMap());
    const ctx = ctxFor("cache", { id: "42" });
    await adapter.close(); // nothing opened yet
    expect(rowsByTable(await adapter.preview(ctx))[`${P}:session:{id}`]).toBe(1);
    await adapter.close();
    const done = await adapter.erase(ctx, recorder().record);
    expect(rowsByTable(done.steps)[`${P}:session:{id}`]).toBe(1);
    expect(await redis.exists(`${P}:session:42`)).toBe(0);
  });

  it("fails permanently, naming the pattern only, when a hash field's key holds another type", async () => {
    await redis.set(`${P}:profiles`, "not a hash");
    const adapter = adapterFor(cacheMap());
    const err = await adapter.erase(ctxFor("cache", { id: "42" }), recorder().record).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe("store_failed");
    expect((err as PermanentError).message).toBe(`store "cache": hash ${P}:profiles field {id}: the key holds another type than a hash`);
  });
});

describe("redis store: data map and lethe check", () => {
  const specOf = (map: DataMap): RedisStoreSpec => {
    const s = map.stores.cache;
    if (s?.kind !== "redis") throw new Error("not a redis store");
    return s;
  };

  it("interpolates ${VAR} in the url and names a missing variable", () => {
    expect(specOf(cacheMap()).url).toBe(REDIS_URL);
    expect(() => mapWith("cache", cacheSpec(), {})).toThrow(/stores\.cache\.url: environment variable APP_REDIS_URL is not set/);
  });

  it("refuses globs in hash keys and fields, and a store that declares nothing", () => {
    expect(() => mapWith("cache", { kind: "redis", url: REDIS_URL, hashFields: [{ key: "profiles", field: "{id}:*" }] })).toThrow(DataMapError);
    expect(() => mapWith("cache", { kind: "redis", url: REDIS_URL })).toThrow(/at least one key pattern or hash field/);
  });

  it("passes a well-formed store against a live Redis", async () => {
    const map = cacheMap();
    expect(await checkRedisStore(map, "cache", specOf(map))).toEqual([]);
  });

  it("reports each rule with its key", async () => {
    const map = mapWith("cache", {
      kind: "redis",
      url: REDIS_URL,
      keys: [{ pattern: "session:*" }, { pattern: "user:{phone}" }, { pattern: "*:{id}" }, { pattern: "cart:{id}*" }, { pattern: "ok:{id}" }],
      hashFields: [
        { key: "profiles", field: "name" },
        { key: "user:{id}", field: "name" },
        { key: "p", field: "{nick}" },
      ],
    });
    const problems = await checkRedisStore(map, "cache", specOf(map));
    expect(problems.map((p) => [p.key, p.rule])).toEqual([
      ["stores.cache.keys.0.pattern", "pattern-without-placeholder"],
      ["stores.cache.keys.1.pattern", "unknown-placeholder"],
      ["stores.cache.keys.2.pattern", "pattern-too-broad"],
      ["stores.cache.keys.3.pattern", "pattern-too-broad"],
      ["stores.cache.hashFields.0", "pattern-without-placeholder"],
      ["stores.cache.hashFields.2", "unknown-placeholder"],
    ]);
    expect(problems[1]!.message).toContain("{phone}");
  });

  it("reports an unreachable store without its URL, through checkDataMap", async () => {
    const url = "redis://lethe-user:s3cret-pw@127.0.0.1:1/3";
    const map = mapWith("cache", { kind: "redis", url, keys: [{ pattern: "session:{id}" }] });
    const problems = (await checkDataMap(map)).filter((p) => p.key.startsWith("stores.cache"));
    expect(problems).toEqual([{ key: "stores.cache.url", rule: "store-unreachable", message: expect.stringContaining("ECONNREFUSED") }]);
    expect(problems[0]!.message).not.toMatch(/s3cret|lethe-user|127\.0\.0\.1/);
  });
});
