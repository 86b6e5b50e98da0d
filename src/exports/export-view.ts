import type { DataSource } from "typeorm";
import type { ExportStatus, ExportTableCount } from "../db/entities/export";
import type { DeliveryStatus } from "../db/entities/mail-delivery";
import { exportViewRow } from "../db/tables/export";

/** An export as a request's view shows it (`GET /v1/requests/:id`, `lethe status`). No personal data, no link. */
export interface ExportView {
  id: string;
  status: ExportStatus;
  sizeBytes: number | null;
  sha256: string | null;
  rows: number | null;
  tables: ExportTableCount[];
  readyAt: string | null;
  expiresAt: string | null;
  downloads: number;
  /** When the file was deleted (expiry or failure). */
  deletedAt: string | null;
  /** The mail with the link: its state, attempts and the last SMTP reply code of a failure. */
  delivery: { status: DeliveryStatus; attempts: number; sentAt: string | null; smtpCode: number | null; errorCode: string | null } | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const num = (v: string | null): number | null => (v === null ? null : Number(v));

/** The export of a request, or null when it has none (yet). */
export async function getExportView(ds: DataSource, requestId: string): Promise<ExportView | null> {
  const r = await exportViewRow(ds, requestId);
  if (!r) return null;
  return {
    id: r.id,
    status: r.status,
    sizeBytes: num(r.size_bytes),
    sha256: r.sha256,
    rows: num(r.rows),
    tables: r.tables ?? [],
    readyAt: iso(r.ready_at),
    expiresAt: iso(r.expires_at),
    downloads: r.downloads,
    deletedAt: iso(r.deleted_at),
    delivery: r.d_status
      ? { status: r.d_status, attempts: r.d_attempts ?? 0, sentAt: iso(r.d_sent_at), smtpCode: r.d_smtp_code, errorCode: r.d_error_code }
      : null,
  };
}
