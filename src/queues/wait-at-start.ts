import { Redis } from "ioredis";
import { sleep, START_WAIT_MS, StartupError, whereOf } from "../db/connect-at-start";
import { describeError } from "../db/error-text";

/**
 * Waits until Redis answers PING, for at most `waitMs`; then throws a {@link StartupError} naming
 * REDIS_URL. Uses a connection of its own, closed before it returns, so nothing retries behind it.
 */
export async function waitForRedisAtStart(url: string, waitMs = START_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 2000 });
    probe.on("error", (err) => {
      last = err;
    });
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (err) {
      last = err;
    } finally {
      probe.disconnect();
    }
    await sleep(500);
  }
  throw new StartupError(`cannot reach Redis at REDIS_URL (${whereOf(url)}) within ${Math.round(waitMs / 1000)} s: ${describeError(last)}`);
}
