/**
 * Waiting without fixed sleeps: {@link waitFor} polls a condition (Postgres, Redis, a file) until
 * it holds or a deadline passes. Waits on BullMQ job events are in ./job-events.ts.
 */

/** Polls `fn` until it returns a value other than undefined; throws `what` on timeout. */
export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
