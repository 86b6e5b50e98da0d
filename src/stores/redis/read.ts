import type { RedisStoreClient } from "./client";
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { ERROR_CODES, PermanentError } from "../../errors";

/**
 * Reading one key of an application's Redis for an export, binary-safe and with bounded memory:
 * collections come in pages (HSCAN/SSCAN with deduplication, LRANGE/ZRANGE/XRANGE by position),
 * strings longer than {@link STRING_CHUNK} in GETRANGE chunks. Nothing is written.
 */

/** Elements asked for per page (the COUNT of HSCAN/SSCAN, the span of LRANGE/ZRANGE/XRANGE). */
export const PAGE_SIZE = 1000;

/** Bytes per GETRANGE of a long string; a multiple of 3, so base64 chunks concatenate. */
export const STRING_CHUNK = 3 * 256 * 1024;

/** A field and its value (hash fields, stream entry fields). */
export type FieldValue = [field: Buffer, value: Buffer];

/** A key's content, read lazily page by page. */
export type KeyContent =
  /** `isText`: every byte is valid UTF-8 (decided before the first chunk is handed out). */
  | { type: "string"; isText: boolean; chunks: AsyncIterable<Buffer> }
  | { type: "hash"; pages: AsyncIterable<FieldValue[]> }
  | { type: "list" | "set"; pages: AsyncIterable<Buffer[]> }
  /** Members in score order with their score as Redis prints it (`1.5`, `inf`). */
  | { type: "zset"; pages: AsyncIterable<Array<[member: Buffer, score: string]>> }
  | { type: "stream"; pages: AsyncIterable<Array<[id: string, fields: FieldValue[]]>> };

/** The content of `key`, or null when it no longer exists. A type Lethe cannot read (a module's) fails the export. */
export async function readKey(redis: RedisStoreClient, key: Buffer, signal?: AbortSignal): Promise<KeyContent | null> {
  const type = await redis.type(key);
  switch (type) {
    case "none":
      return null;
    case "string":
      return readString(redis, key, signal);
    case "hash":
      return {
        type,
        pages: scanPages(
          signal,
          (cursor) => redis.hscanBuffer(key, cursor, "COUNT", PAGE_SIZE),
          pairs,
          ([field]) => field,
        ),
      };
    case "set":
      return {
        type,
        pages: scanPages(
          signal,
          (cursor) => redis.sscanBuffer(key, cursor, "COUNT", PAGE_SIZE),
          (e) => e,
          (member) => member,
        ),
      };
    case "list":
      return { type, pages: rangePages(signal, (start) => redis.lrangeBuffer(key, start, start + PAGE_SIZE - 1)) };
    case "zset":
      return {
        type,
        pages: rangePages(signal, async (start) =>
          pairs(await redis.zrangeBuffer(key, start, start + PAGE_SIZE - 1, "WITHSCORES")).map(([m, s]) => [m, s.toString()]),
        ),
      };
    case "stream":
      return { type, pages: streamPages(redis, key, signal) };
    default:
      throw new PermanentError(ERROR_CODES.storeNotExportable, `a key of type "${type}" cannot be exported (only string, hash, list, set, zset and stream)`);
  }
}

/** `[a, b, c, d]` → `[[a, b], [c, d]]`. */
function pairs(flat: Buffer[]): FieldValue[] {
  const out: FieldValue[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * A string value: one GET when short; else a first GETRANGE pass decides whether it is UTF-8
 * and a second hands out the chunks. A value that stops being UTF-8 between the passes fails
 * the export (retryable), so a text value is never written half as text, half as garbage.
 */
async function readString(redis: RedisStoreClient, key: Buffer, signal: AbortSignal | undefined): Promise<KeyContent | null> {
  const length = await redis.strlen(key);
  if (length <= STRING_CHUNK) {
    const value = await redis.getBuffer(key);
    if (value === null) return null;
    return {
      type: "string",
      isText: isUtf8(value),
      chunks: (async function* () {
        yield value;
      })(),
    };
  }
  const ranges = async function* (): AsyncGenerator<Buffer> {
    for (let start = 0; ; start += STRING_CHUNK) {
      signal?.throwIfAborted();
      const chunk = await redis.getrangeBuffer(key, start, start + STRING_CHUNK - 1);
      if (chunk.length > 0) yield chunk;
      if (chunk.length < STRING_CHUNK) return;
    }
  };
  const probe = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let isText = true;
  try {
    for await (const chunk of ranges()) probe.decode(chunk, { stream: true });
    probe.decode();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    isText = false;
  }
  if (!isText) return { type: "string", isText, chunks: ranges() };
  const check = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const checked = async function* (): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of ranges()) {
        check.decode(chunk, { stream: true });
        yield chunk;
      }
      check.decode();
    } catch (err) {
      if (err instanceof TypeError) throw new Error("a string value changed while it was exported; the export is retried", { cause: err });
      throw err;
    }
  };
  return { type: "string", isText, chunks: checked() };
}

/**
 * Pages of a cursor scan (HSCAN/SSCAN). A scan may return an element twice; a collection that
 * takes more than one call is deduplicated by a digest of each element (a SHA-1 per element,
 * not its value: 28 characters each).
 */
async function* scanPages<T>(
  signal: AbortSignal | undefined,
  call: (cursor: string) => Promise<[cursor: Buffer, elements: Buffer[]]>,
  shape: (elements: Buffer[]) => T[],
  identity: (item: T) => Buffer,
): AsyncGenerator<T[]> {
  let cursor = "0";
  let seen: Set<string> | null = null;
  do {
    signal?.throwIfAborted();
    const [next, elements] = await call(cursor);
    cursor = next.toString();
    let page = shape(elements);
    if (cursor !== "0" || seen) {
      const s: Set<string> = (seen ??= new Set<string>());
      page = page.filter((item) => {
        const digest = createHash("sha1").update(identity(item)).digest("base64");
        if (s.has(digest)) return false;
        s.add(digest);
        return true;
      });
    }
    if (page.length > 0) yield page;
  } while (cursor !== "0");
}

/** Pages of an index range (LRANGE/ZRANGE) until a short page. */
async function* rangePages<T>(signal: AbortSignal | undefined, call: (start: number) => Promise<T[]>): AsyncGenerator<T[]> {
  for (let start = 0; ; start += PAGE_SIZE) {
    signal?.throwIfAborted();
    const page = await call(start);
    if (page.length > 0) yield page;
    if (page.length < PAGE_SIZE) return;
  }
}

/** Pages of a stream's entries, oldest first (XRANGE with an exclusive start after each page). */
async function* streamPages(redis: RedisStoreClient, key: Buffer, signal: AbortSignal | undefined): AsyncGenerator<Array<[string, FieldValue[]]>> {
  let start = "-";
  for (;;) {
    signal?.throwIfAborted();
    const page = await redis.xrangeBuffer(key, start, "+", "COUNT", PAGE_SIZE);
    if (page.length > 0) yield page.map(([id, fields]) => [id.toString(), pairs(fields)]);
    if (page.length < PAGE_SIZE) return;
    start = `(${page[page.length - 1]![0].toString()}`;
  }
}
