import { EntitySchema } from "typeorm";

/**
 * One append-only audit row. Names a subject only by keyed hash. Rows are sealed into a hash
 * chain shortly after they are written (`seq`, `prevHash`, `hash`; see `audit/log`), so editing
 * or removing a sealed row breaks the chain.
 */
export interface AuditEntry {
  id: string;
  at: Date;
  event: string;
  requestId: string | null;
  subjectHash: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
  /** Position in the chain; null until sealed. */
  seq: string | null;
  prevHash: string | null;
  hash: string | null;
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
    seq: { type: "bigint", nullable: true },
    prevHash: { type: "text", name: "prev_hash", nullable: true },
    hash: { type: "text", nullable: true },
  },
});
