import { EntitySchema } from "typeorm";

/**
 * A legal hold: while active (not released, `until` not passed) the subject named by
 * `subjectHash` (HMAC of its key, see `subject/hashes.subjectHash(key, "id", value)`) is not erased and
 * retention sweeps skip its rows.
 */
export interface LegalHold {
  id: string;
  subjectHash: string;
  ground: string;
  until: Date | null;
  createdBy: string;
  createdAt: Date;
  releasedAt: Date | null;
}

/** TypeORM mapping of {@link LegalHold}. */
export const LegalHoldEntity = new EntitySchema<LegalHold>({
  name: "LegalHold",
  tableName: "legal_hold",
  schema: "lethe",
  columns: {
    id: { type: "uuid", primary: true, generated: "uuid" },
    subjectHash: { type: "text", name: "subject_hash" },
    ground: { type: "text" },
    until: { type: "timestamptz", nullable: true },
    createdBy: { type: "text", name: "created_by" },
    createdAt: { type: "timestamptz", name: "created_at", createDate: true },
    releasedAt: { type: "timestamptz", name: "released_at", nullable: true },
  },
});
