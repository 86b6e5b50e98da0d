import type { DataSource } from "typeorm";
import { publicError } from "../erasure/public-error";
import { SmtpRejectedError, SmtpRetryableError } from "../mail/smtp-error";
import { removeExportFiles } from "./files";

/** The code and message an export failure is shown with; never personal data. */
export function exportFailureOf(err: unknown): { code: string; message: string } {
  if (err instanceof SmtpRejectedError || err instanceof SmtpRetryableError) return { code: err.info.code, message: err.info.message };
  return publicError(err);
}

/**
 * Fails an export request visibly, in one statement: the request `failed` with a code and a
 * message (an SMTP code, never the address), its identities wiped (nothing can use them any
 * more), the export and its delivery failed, an audit entry. Then the file is deleted; the
 * purge job retries a deletion that did not happen.
 */
export async function failExportRequest(ds: DataSource, exportDir: string, requestId: string, err: unknown): Promise<void> {
  const e = exportFailureOf(err);
  const rows = (await ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, identities = NULL, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING id, subject_hash),
     ex AS (
       UPDATE lethe.export SET status = 'failed' WHERE request_id = $1 AND status IN ('building', 'ready') AND EXISTS (SELECT 1 FROM req) RETURNING id, path),
     mail AS (
       UPDATE lethe.mail_delivery SET status = 'failed', updated_at = now() WHERE request_id = $1 AND status IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM req)),
     audit AS (
       INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
       SELECT 'request.failed', id, subject_hash, 'worker', jsonb_build_object('code', $2::text, 'type', 'export') FROM req)
     SELECT id, path FROM ex`,
    [requestId, e.code, e.message],
  )) as Array<{ id: string; path: string }>;
  for (const r of rows) {
    await removeExportFiles(exportDir, r.path);
    await ds.query(`UPDATE lethe.export SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [r.id]);
  }
}
