import type { Readable } from "node:stream";

/**
 * Where a store kind's exporter writes: entries through an {@link ExportSink}, never a whole
 * table (or file) in memory. The zip writer (`exports/zip-writer`) implements it.
 *
 * Entry paths: `data/<store>/<table>.json|csv` for records (`data/<store>/redis.json|csv` for a
 * redis store), `files/<store>/<path>` for files, `processors/<store>.json` for a processor.
 */

/** An entry's content, produced lazily: a cursor's batches, a file stream, or a small value. */
export type EntrySource = AsyncIterable<Buffer | string> | Readable | Buffer | string;

/** One entry as a store kind hands it to the sink. */
export interface ExportEntryInput {
  /** Path inside the zip, e.g. `data/main/customer.json`; relative, no `..`. */
  path: string;
  /** Data-map store it comes from; absent for Lethe's own entries (`index.html`). */
  store?: string;
  table?: string;
  /** Media type, e.g. `application/json`, `text/csv`. */
  contentType: string;
  source: EntrySource;
  /** Records the entry holds, read once the source is drained. */
  rows?: () => number;
}

/** One entry as the manifest records it. */
export interface ManifestEntry {
  path: string;
  store?: string;
  table?: string;
  contentType: string;
  rows?: number;
  /** Uncompressed size. */
  bytes: number;
  /** SHA-256 of the uncompressed content, hex. */
  sha256: string;
}

/** Where exporters write. `add` resolves when the entry is fully in the archive. */
export interface ExportSink {
  add(entry: ExportEntryInput): Promise<ManifestEntry>;
}
