import type { DataSource } from "typeorm";
import { markExportFileDeleted } from "../db/tables/export";
import { markExportMailFailed, markExportRequestFailed } from "../db/tables/subject-request";
import { publicError } from "../erasure/public-error";
import { SmtpRejectedError, SmtpRetryableError } from "../mail/smtp-error";
import { removeExportFiles } from "./files";

/** The code and message an export failure is shown with; never personal data. */
export function exportFailureOf(err: unknown): { code: string; message: string } {
  if (err instanceof SmtpRejectedError || err instanceof SmtpRetryableError) return { code: err.info.code, message: err.info.message };
  return publicError(err);
}

/**
 * Fails an export request visibly. A mail that stayed undeliverable (network, 4xx) for the whole
 * retry window keeps the export for a retry ({@link markExportMailFailed}). Otherwise, in one statement: the request `failed` with a code and a
 * message (an SMTP code, never the address), its identities wiped (nothing can use them any
 * more), the export and its delivery failed, an audit entry. Then the file is deleted; the
 * purge job retries a deletion that did not happen.
 */
export async function failExportRequest(ds: DataSource, exportDir: string, requestId: string, err: unknown): Promise<void> {
  const e = exportFailureOf(err);
  // The mail could not be delivered in the whole retry window: the export, its link and the
  // identities are kept, so `POST /v1/requests/:id/retry` can send it once the server is back.
  if (err instanceof SmtpRetryableError) {
    await markExportMailFailed(ds, requestId, e.code, e.message);
    return;
  }
  const rows = await markExportRequestFailed(ds, requestId, e.code, e.message);
  for (const r of rows) {
    await removeExportFiles(exportDir, r.path);
    await markExportFileDeleted(ds, r.id);
  }
}
