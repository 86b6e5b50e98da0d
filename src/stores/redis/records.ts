import { isUtf8 } from "node:buffer";
import type { FieldValue, KeyContent } from "./read";

/**
 * How one Redis key is written into an export, as text chunks (never the whole key at once).
 *
 * JSON, one object per key: `{"key", "type", …}` with `value` (string), `fields` (hash:
 * `{field, value}`), `members` (list, set: `{value}`; zset: `{value, score}`) or `entries`
 * (stream: `{id, fields}`). A key, field or value that is not valid UTF-8 is base64, flagged by
 * `keyEncoding` / `fieldEncoding` / `encoding: "base64"` next to it. `partial: true` marks a hash
 * of which only the declared fields are the subject's.
 *
 * CSV, one row per value: `key,type,field,value,encoding`. `field` is the hash field, the list
 * index, the zset score, or `<entry id>/<field>` of a stream; empty for strings and sets. When
 * any of key, field and value is not UTF-8, all three are base64 and `encoding` says `base64`.
 */

/** Header line of the CSV file. */
export const REDIS_CSV_HEADER = "key,type,field,value,encoding\n";

/** A hash of which only some fields are exported (the data map's `hashFields`). */
export interface PartialHash {
  type: "hash";
  partial: true;
  fields: FieldValue[];
}

/** What one record is made of. */
export type RecordContent = KeyContent | PartialHash;

const jsonText = (s: string): string => JSON.stringify(s).slice(1, -1);
const csvText = (s: string): string => s.replace(/"/g, '""');

/** `"name":"…"` plus `,"<flag>":"base64"` when the bytes are not UTF-8. */
function jsonProp(name: string, bytes: Buffer, flag: string): string {
  return isUtf8(bytes) ? `"${name}":"${jsonText(bytes.toString("utf8"))}"` : `"${name}":"${bytes.toString("base64")}","${flag}":"base64"`;
}

const fieldJson = ([f, v]: FieldValue): string => `{${jsonProp("field", f, "fieldEncoding")},${jsonProp("value", v, "encoding")}}`;

/** A finite score as a JSON number, `inf`/`-inf` as a string. */
function scoreJson(score: string): string {
  const n = Number(score);
  return Number.isFinite(n) ? String(n) : JSON.stringify(score);
}

/** Items of a JSON array, one per line, a page per chunk. */
async function* jsonItems<T>(pages: AsyncIterable<T[]>, item: (t: T) => string): AsyncGenerator<string> {
  let first = true;
  for await (const page of pages) {
    let text = "";
    for (const t of page) {
      text += `${first ? "\n" : ",\n"}${item(t)}`;
      first = false;
    }
    yield text;
  }
  if (!first) yield "\n";
}

/** A page source of one already-read page. */
async function* once<T>(page: T[]): AsyncGenerator<T[]> {
  if (page.length > 0) yield page;
}

/** The JSON object of one key. */
export async function* jsonRecord(key: Buffer, c: RecordContent): AsyncGenerator<string> {
  const head = `{${jsonProp("key", key, "keyEncoding")},"type":"${c.type}"`;
  switch (c.type) {
    case "string": {
      yield `${head},"value":"`;
      if (c.isText) {
        const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
        for await (const chunk of c.chunks) yield jsonText(decoder.decode(chunk, { stream: true }));
        yield jsonText(decoder.decode());
      } else for await (const chunk of c.chunks) yield chunk.toString("base64");
      yield c.isText ? `"}` : `","encoding":"base64"}`;
      return;
    }
    case "hash":
      yield `${head}${"partial" in c ? `,"partial":true` : ""},"fields":[`;
      yield* jsonItems("partial" in c ? once(c.fields) : c.pages, fieldJson);
      yield "]}";
      return;
    case "list":
    case "set":
      yield `${head},"members":[`;
      yield* jsonItems(c.pages, (m) => `{${jsonProp("value", m, "encoding")}}`);
      yield "]}";
      return;
    case "zset":
      yield `${head},"members":[`;
      yield* jsonItems(c.pages, ([m, score]) => `{${jsonProp("value", m, "encoding")},"score":${scoreJson(score)}}`);
      yield "]}";
      return;
    case "stream":
      yield `${head},"entries":[`;
      yield* jsonItems(c.pages, ([id, fields]) => `{"id":"${jsonText(id)}","fields":[${fields.map(fieldJson).join(",")}]}`);
      yield "]}";
      return;
  }
}

/** One CSV row; `field` null leaves the column empty. */
function csvRow(key: Buffer, type: string, field: Buffer | null, value: Buffer): string {
  const isText = isUtf8(key) && (field === null || isUtf8(field)) && isUtf8(value);
  const cell = (b: Buffer): string => `"${isText ? csvText(b.toString("utf8")) : b.toString("base64")}"`;
  return `${cell(key)},${type},${field === null ? "" : cell(field)},${cell(value)},${isText ? "" : "base64"}\n`;
}

/** The CSV rows of one key, a page per chunk; `counter.rows` counts them. */
export async function* csvRows(key: Buffer, c: RecordContent, counter: { rows: number }): AsyncGenerator<string> {
  const rows = async function* <T>(pages: AsyncIterable<T[]>, row: (t: T, i: number) => string): AsyncGenerator<string> {
    let i = 0;
    for await (const page of pages) {
      yield page.map((t) => row(t, i++)).join("");
      counter.rows += page.length;
    }
  };
  switch (c.type) {
    case "string": {
      // Streamed: the value may be long. Chunks of a long value are multiples of 3 bytes, so base64 pieces concatenate.
      const isText = c.isText && isUtf8(key);
      yield `"${isText ? csvText(key.toString("utf8")) : key.toString("base64")}",string,,"`;
      const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
      for await (const chunk of c.chunks) yield isText ? csvText(decoder.decode(chunk, { stream: true })) : chunk.toString("base64");
      yield `${isText ? csvText(decoder.decode()) : ""}",${isText ? "" : "base64"}\n`;
      counter.rows++;
      return;
    }
    case "hash":
      yield* rows("partial" in c ? once(c.fields) : c.pages, ([f, v]) => csvRow(key, "hash", f, v));
      return;
    case "list":
      yield* rows(c.pages, (m, i) => csvRow(key, "list", Buffer.from(String(i)), m));
      return;
    case "set":
      yield* rows(c.pages, (m) => csvRow(key, "set", null, m));
      return;
    case "zset":
      yield* rows(c.pages, ([m, score]) => csvRow(key, "zset", Buffer.from(score), m));
      return;
    case "stream":
      for await (const page of c.pages) {
        for (const [id, fields] of page) {
          yield fields.map(([f, v]) => csvRow(key, "stream", Buffer.concat([Buffer.from(`${id}/`), f]), v)).join("");
          counter.rows += fields.length;
        }
      }
      return;
  }
}
