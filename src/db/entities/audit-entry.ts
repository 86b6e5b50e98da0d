import { EntitySchema } from "typeorm";

/**
 * One append-only audit row. Names a subject only by keyed hash; `hash` covers this row and
 * `prevHash`, so editing or removing a row breaks the chain (see `audit/verify-chain`).
 */
export interface AuditEntry {
  id: string;
  at: Date;
  event: string;
  requestId: string | null;
  subjectHash: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** TypeORM mapping of {@link AuditEntry}. */
export const AuditEntryEntity = new EntitySchema<AuditEntry>({
  name: "AuditEntry",
  tableName: "audit_log",
  schema: "lethe",
  columns: {
    id: { type: "bigint", primary: true, generated: "increment" },
    at: { type: "timestamptz" },
    event: { type: "text" },
    requestId: { type: "uuid", name: "request_id", nullable: true },
    subjectHash: { type: "text", name: "subject_hash", nullable: true },
    actor: { type: "text", nullable: true },
    detail: { type: "jsonb" },
    prevHash: { type: "text", name: "prev_hash" },
    hash: { type: "text" },
  },
});
