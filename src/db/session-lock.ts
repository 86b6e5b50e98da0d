import type { DataSource, QueryRunner } from "typeorm";

/** The session lock of {@link withSessionLock} is held by another connection. */
export class LockBusyError extends Error {
  override readonly name = "LockBusyError";
}

/**
 * Runs `fn` holding a Postgres session-level advisory lock named `key`, on a connection of its
 * own (`fn` gets it). The lock is not tied to a transaction, so it spans work that is not one
 * (an SMTP send, a zip written to disk), and it is released when the process dies with its
 * connection. Throws {@link LockBusyError} (retryable) when another session holds it.
 */
export async function withSessionLock<T>(ds: DataSource, key: string, busyMessage: string, fn: (q: QueryRunner) => Promise<T>): Promise<T> {
  const q = ds.createQueryRunner();
  await q.connect();
  try {
    const got = (await q.query(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`, [key])) as Array<{ ok: boolean }>;
    if (!got[0]?.ok) throw new LockBusyError(busyMessage);
    try {
      return await fn(q);
    } finally {
      await q.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [key]).catch(() => undefined);
    }
  } finally {
    await q.release();
  }
}
