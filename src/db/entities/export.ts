import { EntitySchema } from "typeorm";

/** Lifecycle of an export's file: being written, downloadable, deleted at expiry, or given up. */
export type ExportStatus = "building" | "ready" | "expired" | "failed";

/** Rows exported from one table (or files from one store), as the manifest counts them. */
export interface ExportTableCount {
  store: string;
  /** Table name; absent for a store kind without tables. */
  table?: string;
  rows: number;
}

/** One export (Art. 15 access / Art. 20 portability): its zip and its download link's life. */
export interface Export {
  id: string;
  requestId: string;
  status: ExportStatus;
  /** The zip's file name, relative to LETHE_EXPORT_DIR (worker and API may mount it at different paths). */
  path: string;
  sizeBytes: string | null;
  /** SHA-256 of the whole zip, hex. */
  sha256: string | null;
  entries: number | null;
  rows: string | null;
  tables: ExportTableCount[] | null;
  /** The link works once (LETHE_EXPORT_SINGLE_USE when the export was built). */
  singleUse: boolean;
  createdAt: Date;
  readyAt: Date | null;
  /** When the link stops working and the file is deleted. */
  expiresAt: Date | null;
  downloads: number;
  lastDownloadedAt: Date | null;
  /** When the file was deleted (expiry, failure); the row stays as the record. */
  deletedAt: Date | null;
}

/** TypeORM mapping of {@link Export}. */
export const ExportEntity = new EntitySchema<Export>({
  name: "Export",
  tableName: "export",
  schema: "lethe",
  columns: {
    id: { type: "uuid", primary: true, generated: "uuid" },
    requestId: { type: "uuid", name: "request_id", unique: true },
    status: { type: "text" },
    path: { type: "text" },
    sizeBytes: { type: "bigint", name: "size_bytes", nullable: true },
    sha256: { type: "text", nullable: true },
    entries: { type: "integer", nullable: true },
    rows: { type: "bigint", nullable: true },
    tables: { type: "jsonb", nullable: true },
    singleUse: { type: "boolean", name: "single_use", default: false },
    createdAt: { type: "timestamptz", name: "created_at", createDate: true },
    readyAt: { type: "timestamptz", name: "ready_at", nullable: true },
    expiresAt: { type: "timestamptz", name: "expires_at", nullable: true },
    downloads: { type: "integer", default: 0 },
    lastDownloadedAt: { type: "timestamptz", name: "last_downloaded_at", nullable: true },
    deletedAt: { type: "timestamptz", name: "deleted_at", nullable: true },
  },
});
