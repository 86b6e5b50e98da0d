import type { ClientBase } from "pg";
import { to as copyTo } from "pg-copy-streams";

/**
 * Streaming a query out of Postgres with `COPY (SELECT …) TO STDOUT`. Postgres formats the rows
 * (CSV, or one JSON document per line) and sends them as raw bytes; the socket is paused while
 * the zip catches up, so neither side holds more than a few chunks. Compared with a cursor
 * (`DECLARE` / `FETCH`), no row is turned into a JS object, which keeps a 1,000,000-row export's
 * heap flat (see bench/export.ts).
 *
 * COPY takes no bind parameters. Values therefore still never enter the SQL text: they travel as
 * one bound parameter of `set_config()` into a transaction-local setting, and the query reads
 * them back from it (`current_setting(…)`), evaluated once per statement.
 */

/** The transaction-local setting that carries one COPY's parameters (a JSON array). */
export const PARAMS_SETTING = "lethe.copy_params";

function paramSql(n: number, value: unknown): string {
  const all = `current_setting('${PARAMS_SETTING}')::jsonb`;
  return Array.isArray(value) ? `ARRAY(SELECT jsonb_array_elements_text(${all} -> ${n - 1}))` : `(${all} ->> ${n - 1})`;
}

/**
 * Replaces the `$n` placeholders of generated SQL (outside quoted identifiers) with reads of
 * {@link PARAMS_SETTING}: a text array for an array parameter, text otherwise. The casts that
 * follow a placeholder (`$2::text[]::int[]`) keep working. The SQL must not contain string
 * literals (generated SQL never does).
 */
export function inlineParamReads(sql: string, params: readonly unknown[]): string {
  let out = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      let j = end;
      while (j !== -1 && sql[j + 1] === '"') j = sql.indexOf('"', j + 2);
      if (j === -1) throw new Error("unterminated quoted identifier in generated SQL");
      out += sql.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === "'") throw new Error("generated SQL must not contain string literals");
    const m = c === "$" ? /^\$(\d+)/.exec(sql.slice(i)) : null;
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > params.length) throw new Error(`placeholder $${n} has no parameter`);
      out += paramSql(n, params[n - 1]);
      i += m[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** What {@link copyOut} yields, and the row count once it is done. */
export interface CopyResult {
  rows: number;
}

/**
 * Runs `COPY (<select>) TO STDOUT WITH (<options>)` in the caller's transaction and yields its
 * bytes. `result.rows` holds the server's row count once the generator has finished.
 * `select` must be built from validated identifiers; `params` are the values of its `$n`.
 */
export async function* copyOut(
  db: ClientBase,
  select: string,
  params: readonly unknown[],
  options: string,
  result: CopyResult,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  await db.query(`SELECT set_config('${PARAMS_SETTING}', $1, true)`, [JSON.stringify(params)]);
  const stream = db.query(copyTo(`COPY (${inlineParamReads(select, params)}) TO STDOUT WITH (${options})`, { highWaterMark: 64 * 1024 }));
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      yield chunk;
    }
  } finally {
    if (!stream.readableEnded) stream.destroy();
  }
  // The connection answers in order: once this returns, COPY's CommandComplete (its row count) was handled.
  await db.query("SELECT 1");
  result.rows = stream.rowCount;
}

const NL = 0x0a;

/**
 * Turns COPY's JSON lines (one `row_to_json` document per line; JSON text never holds a raw
 * newline) into one JSON array, one row per line. Counts the rows it saw in `seen.rows`.
 */
export async function* jsonLinesToArray(lines: AsyncIterable<Buffer>, seen: { rows: number }): AsyncGenerator<Buffer> {
  let started = false;
  let owesSeparator = false;
  for await (const chunk of lines) {
    if (chunk.length === 0) continue;
    const endsLine = chunk[chunk.length - 1] === NL;
    const body = endsLine ? chunk.subarray(0, chunk.length - 1) : chunk;
    let inner = 0;
    for (let i = body.indexOf(NL); i !== -1; i = body.indexOf(NL, i + 1)) inner++;
    const head = (started ? 0 : 2) + (owesSeparator ? 2 : 0);
    const out = Buffer.allocUnsafe(head + body.length + inner);
    let o = 0;
    if (!started) {
      out[o++] = 0x5b; // [
      out[o++] = NL;
      started = true;
    }
    if (owesSeparator) {
      out[o++] = 0x2c; // ,
      out[o++] = NL;
    }
    let from = 0;
    for (let i = body.indexOf(NL); i !== -1; i = body.indexOf(NL, i + 1)) {
      o += body.copy(out, o, from, i);
      out[o++] = 0x2c;
      out[o++] = NL;
      from = i + 1;
    }
    o += body.copy(out, o, from);
    seen.rows += inner + (endsLine ? 1 : 0);
    owesSeparator = endsLine;
    yield out.subarray(0, o);
  }
  yield Buffer.from(started ? "\n]\n" : "[]\n");
}
