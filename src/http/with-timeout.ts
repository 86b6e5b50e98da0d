/** A time bound that ran out; the message says what did not answer, never a connection string. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** Resolves like `work`, or rejects with {@link TimeoutError}(`message`) after `ms`; never leaves a timer behind. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
