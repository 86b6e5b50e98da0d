import { EntitySchema } from "typeorm";

/** Lifecycle of a retention run. At most one run per policy is `queued` or `running` (unique index). */
export type RetentionRunStatus = "queued" | "running" | "completed" | "failed";

/** What started a run: its policy's schedule, or a person (API, CLI). */
export type RetentionTrigger = "schedule" | "manual";

/** A batch whose transaction was about to commit when this was written (see `retention/execute-run`). */
export interface PendingBatch {
  /** Application transaction id; `txid_status()` tells whether it committed. */
  xid: string;
  /** Last key of the batch; null when it ran to the end of the table. */
  hi: string[] | null;
  matched: number;
  changed: number;
  held: number;
  cascaded: Record<string, number>;
}

/**
 * One run of a retention policy (a sweep): its frozen cutoff, its checkpoint (the last primary
 * key done) and the counts of the batches that committed. Names no subject and holds no value
 * of a swept row other than the key checkpoint.
 */
export interface RetentionRun {
  id: string;
  policy: string;
  store: string;
  table: string;
  action: "anonymize" | "delete";
  /** Counts only; nothing changed. */
  dryRun: boolean;
  status: RetentionRunStatus;
  trigger: RetentionTrigger;
  /** API key name, `cli`, or `schedule`. */
  requestedBy: string;
  /** The BullMQ job that runs it (deterministic, for the reconciler). */
  jobId: string;
  /** Rows whose age column is before this are due; fixed when the run is created so a resumed run sweeps the same rows. */
  cutoff: Date;
  batchSize: number;
  /** Last primary key (text per column) of the last committed batch; null before the first. */
  checkpoint: string[] | null;
  /** The batch in flight, recorded before its COMMIT. */
  pending: PendingBatch | null;
  rowsMatched: string;
  rowsChanged: string;
  rowsHeld: string;
  /** Rows of dependents deleted first, by table. */
  cascaded: Record<string, number>;
  batches: number;
  /** Longest batch transaction so far, in milliseconds. */
  maxBatchMs: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  errorCode: string | null;
  /** Personal-data-free failure reason. */
  errorMessage: string | null;
}

/** TypeORM mapping of {@link RetentionRun}. */
export const RetentionRunEntity = new EntitySchema<RetentionRun>({
  name: "RetentionRun",
  tableName: "retention_run",
  schema: "lethe",
  columns: {
    id: { type: "uuid", primary: true, generated: "uuid" },
    policy: { type: "text" },
    store: { type: "text" },
    table: { type: "text", name: "table_name" },
    action: { type: "text" },
    dryRun: { type: "boolean", name: "dry_run", default: false },
    status: { type: "text" },
    trigger: { type: "text" },
    requestedBy: { type: "text", name: "requested_by" },
    jobId: { type: "text", name: "job_id" },
    cutoff: { type: "timestamptz" },
    batchSize: { type: "integer", name: "batch_size" },
    checkpoint: { type: "jsonb", nullable: true },
    pending: { type: "jsonb", nullable: true },
    rowsMatched: { type: "bigint", name: "rows_matched", default: 0 },
    rowsChanged: { type: "bigint", name: "rows_changed", default: 0 },
    rowsHeld: { type: "bigint", name: "rows_held", default: 0 },
    cascaded: { type: "jsonb", default: {} },
    batches: { type: "integer", default: 0 },
    maxBatchMs: { type: "integer", name: "max_batch_ms", default: 0 },
    createdAt: { type: "timestamptz", name: "created_at", createDate: true },
    startedAt: { type: "timestamptz", name: "started_at", nullable: true },
    finishedAt: { type: "timestamptz", name: "finished_at", nullable: true },
    updatedAt: { type: "timestamptz", name: "updated_at", updateDate: true },
    errorCode: { type: "text", name: "error_code", nullable: true },
    errorMessage: { type: "text", name: "error_message", nullable: true },
  },
});
