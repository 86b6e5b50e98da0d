import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { DataMap } from "../datamap/schema";
import type { RetentionPolicy } from "../datamap/retention-policy";
import type { RetentionRunStatus, RetentionTrigger } from "../db/entities/retention-run";
import { activeRunId, failRun, insertManualRun, runById, type RunRow } from "../db/tables/retention-run";
import { publicError } from "../erasure/public-error";
import { RETENTION_SWEEP } from "../queues/jobs/retention-sweep";
import type { Services } from "../services";

/** Id of a policy's BullMQ job scheduler. */
export function schedulerId(policy: string): string {
  return `retention-${policy}`;
}

/** No policy of the data map has this name. */
export class UnknownPolicyError extends Error {
  override readonly name = "UnknownPolicyError";
  constructor(readonly policy: string) {
    super(`no retention policy is named "${policy}"`);
  }
}

/** A run of the policy is already queued or running; two runs of a policy never overlap. */
export class RunInProgressError extends Error {
  override readonly name = "RunInProgressError";
  constructor(
    readonly policy: string,
    readonly activeRunId: string | null,
  ) {
    super(`a run of policy "${policy}" is already queued or running${activeRunId ? ` (run ${activeRunId})` : ""}`);
  }
}

/** The public shape of a run (`GET /v1/retention/runs/:id`, `lethe sweep`). Counts only. */
export interface RetentionRunView {
  id: string;
  policy: string;
  store: string;
  table: string;
  action: "anonymize" | "delete";
  dryRun: boolean;
  status: RetentionRunStatus;
  trigger: RetentionTrigger;
  requestedBy: string;
  /** Rows whose age column is before this instant are due. */
  cutoff: string;
  batchSize: number;
  rows: {
    /** Rows past the cutoff that meet the conditions (already anonymized ones included). */
    matched: number;
    /** Rows anonymized or deleted (0 for a dry run: it changes nothing). */
    changed: number;
    /** A dry run only: rows a real run would anonymize or delete. */
    wouldChange?: number;
    /** Rows skipped because their subject is under legal hold. */
    held: number;
  };
  /** Rows of dependents deleted first, by table. */
  cascaded: Record<string, number>;
  batches: number;
  maxBatchMs: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: { code: string; message: string } | null;
}

/** Builds a {@link RetentionRunView}. */
export function toRunView(r: RunRow): RetentionRunView {
  return {
    id: r.id,
    policy: r.policy,
    store: r.store,
    table: r.table_name,
    action: r.action,
    dryRun: r.dry_run,
    status: r.status,
    trigger: r.trigger,
    requestedBy: r.requested_by,
    cutoff: r.cutoff.toISOString(),
    batchSize: r.batch_size,
    // A dry run's count is what a run would change, named so: it changed nothing (issue 10).
    rows: r.dry_run
      ? { matched: Number(r.rows_matched), changed: 0, wouldChange: Number(r.rows_changed), held: Number(r.rows_held) }
      : { matched: Number(r.rows_matched), changed: Number(r.rows_changed), held: Number(r.rows_held) },
    cascaded: r.cascaded,
    batches: r.batches,
    maxBatchMs: r.max_batch_ms,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at ? r.started_at.toISOString() : null,
    finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
    durationMs: r.started_at && r.finished_at ? r.finished_at.getTime() - r.started_at.getTime() : null,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? "" } : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The public view of a run, or null when there is none with that id. */
export async function getRunView(ds: DataSource, id: string): Promise<RetentionRunView | null> {
  if (!UUID.test(id)) return null;
  const row = await runById(ds, id);
  return row ? toRunView(row) : null;
}

/** The policy named `name`; {@link UnknownPolicyError} when the data map has none. */
export function policyNamed(map: DataMap, name: string): RetentionPolicy {
  const policy = map.retention.find((p) => p.name === name);
  if (!policy) throw new UnknownPolicyError(name);
  return policy;
}

const isUniqueViolation = (err: unknown): boolean => {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  return e.code === "23505" || e.driverError?.code === "23505";
};

/**
 * Records a run of `policy` started by a person (status `queued`). The cutoff is fixed now, so a
 * resumed run sweeps the same rows. {@link RunInProgressError} when a run is queued or running.
 */
export async function createManualRun(ds: DataSource, policy: RetentionPolicy, input: { dryRun: boolean; requestedBy: string }): Promise<RetentionRunView> {
  // The run in the way may end between the conflict and the look-up: then try again, so a 409
  // always names the run that is queued or running (issue 10: `activeRunId: null`).
  for (let attempt = 1; ; attempt++) {
    try {
      return toRunView(await insertManualRun(ds, policy, input));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const active = await activeRunId(ds, policy.name);
      if (active !== null || attempt >= 3) throw new RunInProgressError(policy.name, active);
    }
  }
}

/**
 * Starts a run now (API, CLI): the row first, then the job (outbox order; the reconciler
 * enqueues a run whose job never made it to Redis).
 */
export async function triggerRun(
  ctx: Pick<Services, "ds" | "config" | "dataMap"> & { queue: Queue; onEnqueueError?: (err: unknown) => void },
  policyName: string,
  input: { dryRun: boolean; requestedBy: string },
): Promise<RetentionRunView> {
  const policy = policyNamed(ctx.dataMap, policyName);
  const run = await createManualRun(ctx.ds, policy, input);
  try {
    await RETENTION_SWEEP.enqueue(ctx.queue, ctx.config, { policy: run.policy, runId: run.id });
  } catch (err) {
    ctx.onEnqueueError?.(err);
  }
  return run;
}

/** Marks a run failed (attempts exhausted or unrecoverable) with a personal-data-free reason, and audits it. */
export async function markRunFailed(ds: DataSource, runId: string, err: unknown): Promise<void> {
  const e = publicError(err);
  await failRun(ds, runId, e.code, e.message);
}
