import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import type { StoreSet } from "../stores/store-set";
import type { SubjectSnapshot } from "../subject/snapshot";
import { LETHE_VERSION } from "../version";
import { renderInfoSheet } from "./info-sheet";
import { buildManifest, type ExportRestriction, type Manifest } from "./manifest";
import { ZipFileWriter, type ZipResult } from "./zip-writer";

/** What {@link writeExportZip} needs. */
export interface WriteExportInput {
  /** Final path of the zip; it is written to `<file>.partial` first. */
  file: string;
  exportId: string;
  requestId: string;
  dataMap: DataMap;
  /** The stores; each one's exporter adds its data. */
  stores: StoreSet;
  snapshot: SubjectSnapshot;
  logger: Logger;
  signal?: AbortSignal;
  /** zlib level. (Default: 6) */
  level?: number;
  /** Restrictions in force for the subject (Art. 18): marked in the manifest and the info sheet. */
  restrictions?: ExportRestriction[];
}

/** The written zip and its manifest. */
export interface WrittenExport extends ZipResult {
  manifest: Manifest;
}

/**
 * Writes one export: every store's data through its exporter (subject store first), then
 * `index.html` (the info sheet) and `manifest.json` (every entry's rows, bytes, SHA-256).
 * A store kind that cannot be exported fails the export before anything is written.
 */
export async function writeExportZip(input: WriteExportInput): Promise<WrittenExport> {
  const stores = input.stores.names();
  const exporters = stores.map((s) => input.stores.exporter(s));
  const generatedAt = new Date();
  const zip = new ZipFileWriter(input.file, { date: generatedAt, ...(input.level !== undefined ? { level: input.level } : {}) });
  try {
    for (const [i, store] of stores.entries()) {
      await exporters[i]!.exportStore(
        { requestId: input.requestId, store, snapshot: input.snapshot, logger: input.logger, ...(input.signal ? { signal: input.signal } : {}) },
        zip,
      );
    }
    const restrictions = input.restrictions ?? [];
    const html = renderInfoSheet({ dataMap: input.dataMap, requestId: input.requestId, generatedAt, entries: zip.entriesSoFar(), restrictions });
    await zip.add({ path: "index.html", contentType: "text/html", source: html });
    const manifest = buildManifest({
      exportId: input.exportId,
      requestId: input.requestId,
      generatedAt,
      version: LETHE_VERSION,
      entries: zip.entriesSoFar(),
      restrictions,
    });
    await zip.add({ path: "manifest.json", contentType: "application/json", source: `${JSON.stringify(manifest, null, 2)}\n` });
    return { ...(await zip.finish()), manifest };
  } catch (err) {
    await zip.abort();
    throw err;
  }
}
