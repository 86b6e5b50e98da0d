import { EntitySchema } from "typeorm";
import type { RequestResult } from "../../requests/outcome";
import type { RequestStatus, RequestType } from "../../types";

/** A data-subject request: the source of truth for its lifecycle (Redis is only transport). */
export interface SubjectRequest {
  id: string;
  type: RequestType;
  status: RequestStatus;
  /** A preview: plan counts only, nothing changed. */
  dryRun: boolean;
  receivedAt: Date;
  /** Art. 12(3): receipt + one month. */
  dueAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** Keyed hash of the subject reference as given (identity name + value). */
  subjectHash: string;
  /** AES-256-GCM sealed identities (the reference, then the snapshot). Wiped when the request ends. */
  identities: Buffer | null;
  /** Name of the API key (or `cli`) that made the request. */
  requestedBy: string;
  idempotencyKey: string | null;
  errorCode: string | null;
  /** Personal-data-free failure reason. */
  errorMessage: string | null;
  /** Preview counts or the receipt's counts, the outcome and `verified` (`requests/outcome`); never personal values. */
  result: RequestResult | null;
  /** The legal hold this request waits for (status `held`). */
  holdId: string | null;
  /** Fingerprint of the data map the request was submitted under (`datamap/fingerprint`); null before issue 9. */
  mapFingerprint: string | null;
  updatedAt: Date;
}

/** TypeORM mapping of {@link SubjectRequest}. */
export const SubjectRequestEntity = new EntitySchema<SubjectRequest>({
  name: "SubjectRequest",
  tableName: "subject_request",
  schema: "lethe",
  columns: {
    id: { type: "uuid", primary: true, generated: "uuid" },
    type: { type: "text" },
    status: { type: "text" },
    dryRun: { type: "boolean", name: "dry_run", default: false },
    receivedAt: { type: "timestamptz", name: "received_at" },
    dueAt: { type: "timestamptz", name: "due_at" },
    startedAt: { type: "timestamptz", name: "started_at", nullable: true },
    completedAt: { type: "timestamptz", name: "completed_at", nullable: true },
    subjectHash: { type: "text", name: "subject_hash" },
    identities: { type: "bytea", nullable: true },
    requestedBy: { type: "text", name: "requested_by" },
    idempotencyKey: { type: "text", name: "idempotency_key", nullable: true },
    errorCode: { type: "text", name: "error_code", nullable: true },
    errorMessage: { type: "text", name: "error_message", nullable: true },
    result: { type: "jsonb", nullable: true },
    holdId: { type: "uuid", name: "hold_id", nullable: true },
    mapFingerprint: { type: "text", name: "map_fingerprint", nullable: true },
    updatedAt: { type: "timestamptz", name: "updated_at", updateDate: true },
  },
});
