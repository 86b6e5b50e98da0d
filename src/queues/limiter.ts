/**
 * BullMQ's limiter for a rate in messages per second: `max` jobs per `duration` ms, so 0.5/s is
 * 1 per 2000 ms and 2.5/s is 3 per 1200 ms.
 */
export function limiterFor(ratePerS: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(ratePerS));
  return { max, duration: Math.round((1000 * max) / ratePerS) };
}
