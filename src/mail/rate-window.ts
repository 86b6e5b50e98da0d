import type { QueueConnection } from "../queues/connection";
import { limiterFor } from "../queues/limiter";

/**
 * LETHE_SMTP_RATE_PER_S for messages sent in batches (breach notices): a window counter in Redis
 * shared by every worker process — at most `max` messages per `duration` ms
 * ({@link limiterFor}), the same quota BullMQ's limiter applies to one-message jobs. Taking
 * several messages' worth costs one round trip.
 */
export class RateWindow {
  private readonly max: number;
  private readonly duration: number;

  constructor(
    private readonly redis: QueueConnection,
    private readonly key: string,
    ratePerS: number,
  ) {
    ({ max: this.max, duration: this.duration } = limiterFor(ratePerS));
  }

  /** Takes up to `n` sends from the current window: how many were granted, and how long until the window ends. */
  async take(n: number): Promise<{ granted: number; windowMs: number }> {
    const [granted, ttl] = (await this.redis.eval(TAKE, 1, this.key, n, this.max, this.duration)) as [number, number];
    return { granted, windowMs: Math.max(1, ttl) };
  }
}

const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if grant < 0 then grant = 0 end
if grant > 0 then
  redis.call('INCRBY', KEYS[1], grant)
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = tonumber(ARGV[3]) end
return {grant, ttl}
`;
