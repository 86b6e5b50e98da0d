import type { ExportStatus, ExportTableCount } from "../entities/export";
import type { DeliveryStatus } from "../entities/mail-delivery";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.export`: one row per export request (the zip's path, size, checksum, expiry,
 * downloads). Statements that also read the request or the mail join them; the request's own
 * changes come from the request owner's fragments and statements.
 */

/** An export as its build sees it. */
export interface BuildState {
  id: string;
  status: string;
  rows: string | null;
  size_bytes: string | null;
}

/** The export of a request, as its build sees it (none before the first build). */
export async function exportOfRequest(db: Sql, requestId: string): Promise<BuildState | undefined> {
  const rows = (await db.query(`SELECT id, status, rows, size_bytes FROM lethe.export WHERE request_id = $1`, [requestId])) as BuildState[];
  return rows[0];
}

/** The request's export row, `building`, created on the first build (returns its id). */
export async function createBuildingExport(db: Sql, requestId: string, singleUse: boolean): Promise<string> {
  const rows = (await db.query(
    `INSERT INTO lethe.export (request_id, status, path, single_use) VALUES ($1, 'building', '', $2)
       ON CONFLICT (request_id) DO UPDATE SET status = lethe.export.status RETURNING id`,
    [requestId, singleUse],
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** Records the file name the zip is written to. */
export async function setExportPath(db: Sql, exportId: string, path: string): Promise<void> {
  await db.query(`UPDATE lethe.export SET path = $2 WHERE id = $1`, [exportId, path]);
}

/** A built zip: the export becomes `ready` and its audit entry is written, in one statement. */
export async function markExportReady(
  db: Sql,
  e: {
    exportId: string;
    bytes: number;
    sha256: string;
    entries: number;
    rows: number;
    tables: Array<{ store: string; table?: string; rows: number }>;
    expiresAt: Date;
    singleUse: boolean;
    subjectHash: string;
    detail: Record<string, unknown>;
  },
): Promise<void> {
  await db.query(
    `WITH ex AS (
       UPDATE lethe.export SET status = 'ready', size_bytes = $2, sha256 = $3, entries = $4, rows = $5, tables = $6,
              ready_at = now(), expires_at = $7, single_use = $8
        WHERE id = $1 AND status = 'building' RETURNING request_id)
     ${appendAuditSql({ event: "'export.built'", requestId: "ex.request_id", subjectHash: "$9", actor: "'worker'", detail: "$10" }, "ex")}`,
    [e.exportId, e.bytes, e.sha256, e.entries, e.rows, JSON.stringify(e.tables), e.expiresAt, e.singleUse, e.subjectHash, JSON.stringify(e.detail)],
  );
}

/** A CTE body: the request's export fails (`andWhere`: a further condition); returns `id, path`. */
export function exportFailedSql(requestParam: string, andWhere = "true"): string {
  return `UPDATE lethe.export SET status = 'failed' WHERE request_id = ${requestParam} AND status IN ('building', 'ready') AND ${andWhere} RETURNING id, path`;
}

/** Records that an export's file is deleted. */
export async function markExportFileDeleted(ds: Sql, exportId: string): Promise<void> {
  await ds.query(`UPDATE lethe.export SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [exportId]);
}

/** An export whose file is due for deletion. */
export interface PurgeDue {
  id: string;
  path: string;
  status: string;
  request_id: string;
  subject_hash: string;
}

/** Exports whose file is due for deletion: expired links and failed exports, at most `limit`. */
export async function exportsToPurge(ds: Sql, limit: number): Promise<PurgeDue[]> {
  return (await ds.query(
    `SELECT e.id, e.path, e.status, e.request_id, r.subject_hash FROM lethe.export e JOIN lethe.subject_request r ON r.id = e.request_id
      WHERE e.deleted_at IS NULL AND (e.status = 'failed' OR (e.status = 'ready' AND e.expires_at <= now()))
      ORDER BY e.expires_at NULLS FIRST LIMIT $1`,
    [limit],
  )) as PurgeDue[];
}

/** An expired export whose file is gone: `expired`, deleted, audited, in one statement. */
export async function markExportExpired(ds: Sql, e: { id: string; requestId: string; subjectHash: string }): Promise<void> {
  await ds.query(
    `WITH ex AS (UPDATE lethe.export SET status = 'expired', deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id)
     ${appendAuditSql({ event: "'export.purged'", requestId: "$2", subjectHash: "$3", actor: "'worker'", detail: "jsonb_build_object('exportId', id)" }, "ex")}`,
    [e.id, e.requestId, e.subjectHash],
  );
}

/** Unfinished export requests older than `graceMs`, with their export's id and status (none yet: null). */
export async function unfinishedExportRequests(
  ds: Sql,
  graceMs: number,
): Promise<Array<{ id: string; export_id: string | null; export_status: string | null }>> {
  return (await ds.query(
    `SELECT r.id, e.id AS export_id, e.status AS export_status
       FROM lethe.subject_request r LEFT JOIN lethe.export e ON e.request_id = r.id
      WHERE r.type = 'export' AND r.status IN ('queued', 'running') AND r.received_at < now() - ($1 || ' milliseconds')::interval
      ORDER BY r.received_at LIMIT 10000`,
    [String(graceMs)],
  )) as Array<{ id: string; export_id: string | null; export_status: string | null }>;
}

/** An export and its mail's delivery, as a request's view shows them. */
export interface ExportViewRow {
  id: string;
  status: ExportStatus;
  size_bytes: string | null;
  sha256: string | null;
  rows: string | null;
  tables: ExportTableCount[] | null;
  ready_at: Date | null;
  expires_at: Date | null;
  downloads: number;
  deleted_at: Date | null;
  d_status: DeliveryStatus | null;
  d_attempts: number | null;
  d_sent_at: Date | null;
  d_smtp_code: number | null;
  d_error_code: string | null;
}

/** The export of a request with its mail's delivery, or undefined when it has none (yet). */
export async function exportViewRow(ds: Sql, requestId: string): Promise<ExportViewRow | undefined> {
  const rows = (await ds.query(
    `SELECT e.id, e.status, e.size_bytes::text AS size_bytes, e.sha256, e.rows::text AS rows, e.tables, e.ready_at, e.expires_at, e.downloads, e.deleted_at,
            d.status AS d_status, d.attempts AS d_attempts, d.sent_at AS d_sent_at, d.smtp_code AS d_smtp_code, d.error_code AS d_error_code
       FROM lethe.export e LEFT JOIN lethe.mail_delivery d ON d.key = 'export:' || e.id::text
      WHERE e.request_id = $1`,
    [requestId],
  )) as ExportViewRow[];
  return rows[0];
}

/** An export with its request, as its mail job reads it. */
export interface ExportForMail {
  id: string;
  status: string;
  request_id: string;
  size_bytes: string | null;
  expires_at: Date | null;
  request_status: string;
  identities: Buffer | null;
  subject_hash: string;
}

/** An export with its request's status, sealed identities and subject hash. */
export async function exportForMail(ds: Sql, exportId: string): Promise<ExportForMail | undefined> {
  const rows = (await ds.query(
    `SELECT e.id, e.status, e.request_id, e.size_bytes::text AS size_bytes, e.expires_at, r.status AS request_status, r.identities, r.subject_hash
       FROM lethe.export e JOIN lethe.subject_request r ON r.id = e.request_id WHERE e.id = $1`,
    [exportId],
  )) as ExportForMail[];
  return rows[0];
}

/** The request an export belongs to. */
export async function requestOfExport(ds: Sql, exportId: string): Promise<string | undefined> {
  const rows = (await ds.query(`SELECT request_id FROM lethe.export WHERE id = $1`, [exportId])) as Array<{ request_id: string }>;
  return rows[0]?.request_id;
}

/**
 * Counts one download of a ready, unexpired export (a single-use link only once) and audits it,
 * in one statement; returns the file's path and the download's number, or undefined when the
 * link may not be used (any more).
 */
export async function claimDownload(ds: Sql, exportId: string): Promise<{ path: string; downloads: number } | undefined> {
  const claimed = (await ds.query(
    `WITH ex AS (
       UPDATE lethe.export SET downloads = downloads + 1, last_downloaded_at = now()
        WHERE id = $1 AND status = 'ready' AND deleted_at IS NULL AND expires_at > now() AND (NOT single_use OR downloads = 0)
        RETURNING id, path, downloads, request_id),
     audit AS (
       ${appendAuditSql(
         {
           event: "'export.downloaded'",
           requestId: "ex.request_id",
           subjectHash: "r.subject_hash",
           actor: "'link'",
           detail: "jsonb_build_object('exportId', ex.id, 'download', ex.downloads)",
         },
         "ex JOIN lethe.subject_request r ON r.id = ex.request_id",
       )})
     SELECT path, downloads FROM ex`,
    [exportId],
  )) as Array<{ path: string; downloads: number }>;
  return claimed[0];
}

/** Why a download was refused: single use, downloads so far, whether the file is deleted. */
export async function downloadState(ds: Sql, exportId: string): Promise<{ single_use: boolean; downloads: number; deleted_at: Date | null } | undefined> {
  const rows = (await ds.query(`SELECT single_use, downloads, deleted_at FROM lethe.export WHERE id = $1`, [exportId])) as Array<{
    single_use: boolean;
    downloads: number;
    deleted_at: Date | null;
  }>;
  return rows[0];
}
