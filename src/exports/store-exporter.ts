import type { Readable } from "node:stream";
import type { SubjectSnapshot } from "../erasure/postgres-erasure";
import type { Logger } from "../logger";

/**
 * How a store kind contributes to an export. A kind implements {@link StoreExporter} and joins
 * the registry in `exports/exporters.ts`; it writes entries through an {@link ExportSink} and
 * never holds a whole table (or file) in memory.
 *
 * Entry paths: `data/<store>/<table>.json|csv` for records (`data/<store>/redis.json|csv` for a
 * redis store), `files/<store>/<path>` for files, `processors/<store>.json` for a processor.
 */

/** Error code of an export that meets a store kind (or a value) nobody can export yet. */
export const STORE_NOT_EXPORTABLE = "store_not_exportable";

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

/** What an exporter gets for one request. */
export interface ExportStoreContext {
  requestId: string;
  /** Data-map name of the store. */
  store: string;
  /** The subject's identities and link values, snapshotted when the request started. */
  snapshot: SubjectSnapshot;
  logger: Logger;
  /** Aborts a long export (the job was cancelled, the worker is closing). */
  signal?: AbortSignal;
}

/** A store kind's export: adds the subject's data in this store to the sink, read-only. */
export interface StoreExporter {
  readonly kind: string;
  exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void>;
  /** For exporters holding a connection of their own (redis): closes it. A later export reconnects lazily. */
  close?(): Promise<void>;
}
