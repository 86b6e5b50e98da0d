import type { DataSource } from "typeorm";
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
  const due = (await ds.query(
    `SELECT e.id, e.path, e.status, e.request_id, r.subject_hash FROM lethe.export e JOIN lethe.subject_request r ON r.id = e.request_id
      WHERE e.deleted_at IS NULL AND (e.status = 'failed' OR (e.status = 'ready' AND e.expires_at <= now()))
      ORDER BY e.expires_at NULLS FIRST LIMIT $1`,
    [limit],
  )) as Array<{ id: string; path: string; status: string; request_id: string; subject_hash: string }>;
  const outcome: PurgeOutcome = { expired: 0, cleaned: 0 };
  for (const e of due) {
    try {
      await removeExportFiles(exportDir, e.path);
    } catch (err) {
      logger.warn({ err, exportId: e.id }, "could not delete an export file; will retry");
      continue;
    }
    if (e.status === "failed") {
      await ds.query(`UPDATE lethe.export SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [e.id]);
      outcome.cleaned++;
      continue;
    }
    await ds.query(
      `WITH ex AS (UPDATE lethe.export SET status = 'expired', deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id)
       INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
       SELECT 'export.purged', $2, $3, 'worker', jsonb_build_object('exportId', id) FROM ex`,
      [e.id, e.request_id, e.subject_hash],
    );
    outcome.expired++;
  }
  if (outcome.expired + outcome.cleaned > 0) logger.info({ ...outcome }, "export files deleted");
  return outcome;
}
