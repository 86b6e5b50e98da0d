import type { ClientBase } from "pg";

/** Rows per FETCH. (Default: 2000; memory holds at most two batches per cursor) */
export const FETCH_BATCH = 2000;

let cursorSeq = 0;

/**
 * Streams a query through a server-side cursor (`DECLARE … NO SCROLL CURSOR`, `FETCH FORWARD n`)
 * in the caller's transaction, as batches of rows in array mode. The next FETCH is already on
 * its way while the caller handles the current batch, so Postgres and Node work at the same time.
 * `sql` must come from validated identifiers; values go in `params`.
 */
export async function* cursorBatches(
  db: ClientBase,
  sql: string,
  params: unknown[],
  options: { batch?: number; signal?: AbortSignal } = {},
): AsyncGenerator<unknown[][]> {
  const batch = options.batch ?? FETCH_BATCH;
  const name = `lethe_cursor_${++cursorSeq}`;
  await db.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, params);
  const fetchNext = () => db.query<unknown[]>({ text: `FETCH FORWARD ${batch} FROM ${name}`, rowMode: "array" });
  let next: ReturnType<typeof fetchNext> | null = fetchNext();
  try {
    while (next) {
      const res = await next;
      next = null;
      options.signal?.throwIfAborted();
      if (res.rows.length === 0) return;
      if (res.rows.length === batch) next = fetchNext();
      yield res.rows;
    }
  } finally {
    // A FETCH still in flight is settled before CLOSE (the connection answers in order).
    if (next) await next.catch(() => undefined);
    await db.query(`CLOSE ${name}`).catch(() => undefined);
  }
}
