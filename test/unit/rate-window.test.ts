import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RateWindow } from "../../src/mail/rate-window";

/** LETHE_SMTP_RATE_PER_S for batched sends: a window counter in (real) Redis, shared by every process. */
describe("mail rate window", () => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: null });
  const key = `lethe-test-${randomBytes(6).toString("hex")}:mail:notice-rate`;

  afterAll(async () => {
    await redis.del(key);
    await redis.quit();
  });

  it("grants at most the window's quota across takers, then says how long until the window ends", async () => {
    // 5/s: 5 per 1000 ms. Two processes' windows on one key.
    const a = new RateWindow(redis, key, 5);
    const b = new RateWindow(redis, key, 5);
    const first = await a.take(3);
    expect(first.granted).toBe(3);
    const second = await b.take(4);
    expect(second.granted).toBe(2);
    const third = await a.take(1);
    expect(third.granted).toBe(0);
    expect(third.windowMs).toBeGreaterThan(0);
    expect(third.windowMs).toBeLessThanOrEqual(1000);
    expect(Number(await redis.get(key))).toBe(5);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it("opens a new window once the old one has expired", async () => {
    await redis.del(key);
    const w = new RateWindow(redis, key, 2);
    expect((await w.take(5)).granted).toBe(2);
    // Expire the window at once instead of waiting for it.
    await redis.pexpire(key, 1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await w.take(1)).granted).toBe(1);
  });
});
