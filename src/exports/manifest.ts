import type { ManifestEntry } from "../stores/export-sink";

/** Format identifier of `manifest.json`; bumped when its shape changes incompatibly. */
export const MANIFEST_FORMAT = "lethe-export/1";

/** `manifest.json`: every entry of the zip (except itself) with its size and SHA-256. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  exportId: string;
  requestId: string;
  /** ISO 8601. */
  generatedAt: string;
  generator: { name: "lethe"; version: string };
  /** Records per store and table. */
  totals: { entries: number; rows: number };
  entries: ManifestEntry[];
  /**
   * Restrictions of processing in force for the subject when the archive was made (Art. 18): all
   * of their data in it is restricted (only stored). Absent when there is none.
   */
  restrictions?: ExportRestriction[];
}

/** A restriction as the archive marks it: ground (Art. 18(1)(a)–(d)), purpose, since when. */
export interface ExportRestriction {
  ground: string;
  purpose: string | null;
  since: string;
}

/** Builds the manifest; `rows` counts each table once (its JSON file), not its CSV twin. */
export function buildManifest(input: {
  exportId: string;
  requestId: string;
  generatedAt: Date;
  version: string;
  entries: ManifestEntry[];
  restrictions?: ExportRestriction[];
}): Manifest {
  const rows = input.entries.filter((e) => e.contentType !== "text/csv").reduce((n, e) => n + (e.rows ?? 0), 0);
  return {
    format: MANIFEST_FORMAT,
    exportId: input.exportId,
    requestId: input.requestId,
    generatedAt: input.generatedAt.toISOString(),
    generator: { name: "lethe", version: input.version },
    totals: { entries: input.entries.length, rows },
    entries: input.entries,
    ...(input.restrictions && input.restrictions.length > 0 ? { restrictions: input.restrictions } : {}),
  };
}
