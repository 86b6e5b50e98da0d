import type { DataSource } from "typeorm";
import { exportsToPurge, markExportExpired, markExportFileDeleted } from "../db/tables/export";
import type { Logger } from "../logger";
import { removeExportFiles } from "./files";

/** What one purge pass did. */
export interface PurgeOutcome {
  /** Expired exports whose file was deleted. */
  expired: number;
  /** Failed exports whose leftover file was deleted. */
  cleaned: number;
}

/**
 * Deletes the file of every export whose link has expired (the row becomes `expired`, with
 * `deleted_at`, and an audit entry), and the leftovers of failed exports. A file already gone
 * is fine; a deletion that fails leaves the row for the next pass.
 */
export async function purgeExports(ds: DataSource, exportDir: string, logger: Logger, limit = 500): Promise<PurgeOutcome> {
  const due = await exportsToPurge(ds, limit);
  const outcome: PurgeOutcome = { expired: 0, cleaned: 0 };
  for (const e of due) {
    try {
      await removeExportFiles(exportDir, e.path);
    } catch (err) {
      logger.warn({ err, exportId: e.id }, "could not delete an export file; will retry");
      continue;
    }
    if (e.status === "failed") {
      await markExportFileDeleted(ds, e.id);
      outcome.cleaned++;
      continue;
    }
    await markExportExpired(ds, { id: e.id, requestId: e.request_id, subjectHash: e.subject_hash });
    outcome.expired++;
  }
  if (outcome.expired + outcome.cleaned > 0) logger.info({ ...outcome }, "export files deleted");
  return outcome;
}
