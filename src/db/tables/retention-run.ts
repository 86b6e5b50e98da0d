import type { ClientBase } from "pg";
import type { RetentionPolicy } from "../../datamap/retention-policy";
import type { PendingBatch, RetentionRunStatus, RetentionTrigger } from "../entities/retention-run";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.retention_run`: one row per run of a retention policy, with its checkpoint (the
 * last committed key), the batch in flight (`pending`: its transaction id and counts) and its
 * totals. A sweep writes it on its own connection (`RunDb`), which also holds the policy's lock.
 */

/** A sweep's own connection to Lethe's database. */
type RunDb = Pick<ClientBase, "query">;

/** A `lethe.retention_run` row as the driver returns it. */
export interface RunRow {
  id: string;
  policy: string;
  store: string;
  table_name: string;
  action: "anonymize" | "delete";
  dry_run: boolean;
  status: RetentionRunStatus;
  trigger: RetentionTrigger;
  requested_by: string;
  job_id: string;
  cutoff: Date;
  batch_size: number;
  rows_matched: string;
  rows_changed: string;
  rows_held: string;
  cascaded: Record<string, number>;
  batches: number;
  max_batch_ms: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  error_code: string | null;
  error_message: string | null;
}

/** A run, or undefined. */
export async function runById(ds: Sql, id: string): Promise<RunRow | undefined> {
  const rows = (await ds.query(`SELECT * FROM lethe.retention_run WHERE id = $1`, [id])) as RunRow[];
  return rows[0];
}

const INSERT_COLUMNS = `policy, store, table_name, action, dry_run, status, trigger, requested_by, job_id, cutoff, batch_size`;

/**
 * Records a run started by a person (`queued`; its job id `retention-<run id>`, the cutoff fixed
 * now). Throws Postgres's unique violation (23505) when a run of the policy is queued or running.
 */
export async function insertManualRun(ds: Sql, policy: RetentionPolicy, input: { dryRun: boolean; requestedBy: string }): Promise<RunRow> {
  const rows = (await ds.query(
    `WITH g AS (SELECT gen_random_uuid() AS id)
     INSERT INTO lethe.retention_run (id, ${INSERT_COLUMNS})
     SELECT g.id, $1, $2, $3, $4, $5, 'queued', 'manual', $6, 'retention-' || g.id, coalesce($9::timestamptz, now() - $7::interval), $8 FROM g
     RETURNING *`,
    [
      policy.name,
      policy.store,
      policy.table,
      policy.action,
      input.dryRun,
      input.requestedBy,
      policy.age.olderThan ?? null,
      policy.batchSize,
      policy.age.before ?? null,
    ],
  )) as RunRow[];
  return rows[0]!;
}

/** The id of the queued or running run of `policy`, if any. */
export async function activeRunId(ds: Sql, policy: string): Promise<string | null> {
  const rows = (await ds.query(`SELECT id FROM lethe.retention_run WHERE policy = $1 AND status IN ('queued', 'running')`, [policy])) as Array<{ id: string }>;
  return rows[0]?.id ?? null;
}

/**
 * The run a scheduled job executes: created on its first attempt (keyed by the job id), found
 * again on a retry. Null when another run of the policy is queued or running.
 */
export async function scheduledRun(ds: Sql, policy: RetentionPolicy, jobId: string): Promise<string | null> {
  const rows = (await ds.query(
    `INSERT INTO lethe.retention_run (${INSERT_COLUMNS})
     VALUES ($1, $2, $3, $4, false, 'queued', 'schedule', 'schedule', $5, coalesce($8::timestamptz, now() - $6::interval), $7)
     ON CONFLICT DO NOTHING RETURNING id`,
    [policy.name, policy.store, policy.table, policy.action, jobId, policy.age.olderThan ?? null, policy.batchSize, policy.age.before ?? null],
  )) as Array<{ id: string }>;
  if (rows[0]) return rows[0].id;
  const mine = (await ds.query(`SELECT id FROM lethe.retention_run WHERE job_id = $1`, [jobId])) as Array<{ id: string }>;
  return mine[0]?.id ?? null;
}

/** Fails a queued or running run with a code and a personal-data-free message, audited (counts only), in one statement. */
export async function failRun(ds: Sql, runId: string, code: string, message: string): Promise<void> {
  await ds.query(
    `WITH run AS (
       UPDATE lethe.retention_run SET status = 'failed', error_code = $2, error_message = $3, finished_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING id, policy, store, table_name, action, dry_run, rows_changed, rows_held, batches)
     ${appendAuditSql(
       {
         event: "'retention.failed'",
         actor: "'worker'",
         detail: `jsonb_build_object('runId', id, 'policy', policy, 'store', store, 'table', table_name, 'action', action,
            'dryRun', dry_run, 'changed', rows_changed, 'held', rows_held, 'batches', batches, 'code', $2::text)`,
       },
       "run",
     )}`,
    [runId, code, message],
  );
}

/** Unfinished runs created more than `graceMs` ago, oldest first (the reconciler's). */
export async function unfinishedRuns(ds: Sql, graceMs: number): Promise<Array<{ id: string; policy: string; job_id: string }>> {
  return (await ds.query(
    `SELECT id, policy, job_id FROM lethe.retention_run
      WHERE status IN ('queued', 'running') AND created_at < now() - ($1 || ' milliseconds')::interval ORDER BY created_at LIMIT 1000`,
    [String(graceMs)],
  )) as Array<{ id: string; policy: string; job_id: string }>;
}

/** Rows changed by completed (not dry) runs, by policy and action (metrics). */
export async function rowsChangedByPolicy(ds: Sql): Promise<Array<{ policy: string; action: string; n: string }>> {
  return (await ds.query(
    `SELECT policy, action, coalesce(sum(rows_changed), 0)::bigint::text AS n FROM lethe.retention_run WHERE status = 'completed' AND NOT dry_run GROUP BY policy, action`,
  )) as Array<{ policy: string; action: string; n: string }>;
}

/** A page of runs, newest first (keyset on `(created_at, id)`); `limit + 1` rows tell whether more follow. */
export async function listRunRows(
  ds: Sql,
  f: { policy?: string; status?: RetentionRunStatus; dryRun?: boolean; limit: number; before: { at: string; id: string } | null },
): Promise<Array<RunRow & { created_key: string }>> {
  return (await ds.query(
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key FROM lethe.retention_run
      WHERE ($1::text IS NULL OR policy = $1) AND ($2::text IS NULL OR status = $2) AND ($3::boolean IS NULL OR dry_run = $3)
        AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $6`,
    [f.policy ?? null, f.status ?? null, f.dryRun ?? null, f.before?.at ?? null, f.before?.id ?? null, f.limit + 1],
  )) as Array<RunRow & { created_key: string }>;
}

/** Per policy: its latest real (not dry) run, and how many real runs failed in the last `days` days. */
export async function policyRunStats(ds: Sql, days: number): Promise<Array<{ policy: string; last: RunRow | null; failures: number }>> {
  const rows = (await ds.query(
    `SELECT p.policy, to_jsonb(l) AS last,
            (SELECT count(*)::int FROM lethe.retention_run f WHERE f.policy = p.policy AND NOT f.dry_run AND f.status = 'failed'
                AND f.created_at > now() - make_interval(days => $1)) AS failures
       FROM (SELECT DISTINCT policy FROM lethe.retention_run) p
       LEFT JOIN LATERAL (SELECT * FROM lethe.retention_run r WHERE r.policy = p.policy AND NOT r.dry_run ORDER BY r.created_at DESC, r.id DESC LIMIT 1) l ON true`,
    [days],
  )) as Array<{ policy: string; last: Record<string, unknown> | null; failures: number }>;
  return rows.map((r) => ({ policy: r.policy, failures: r.failures, last: r.last ? reviveRun(r.last) : null }));
}

/** A run row read back from JSON: its instants as dates again. */
function reviveRun(j: Record<string, unknown>): RunRow {
  const date = (v: unknown): Date | null => (typeof v === "string" ? new Date(v) : null);
  return {
    ...(j as unknown as RunRow),
    rows_matched: String(j.rows_matched),
    rows_changed: String(j.rows_changed),
    rows_held: String(j.rows_held),
    cutoff: date(j.cutoff)!,
    created_at: date(j.created_at)!,
    started_at: date(j.started_at),
    finished_at: date(j.finished_at),
  };
}

/** A run's counts so far. */
export interface RunTotals {
  matched: number;
  changed: number;
  held: number;
  cascaded: Record<string, number>;
  batches: number;
  maxBatchMs: number;
}

/** A run as its execution reads it. */
export interface LoadedRun {
  id: string;
  policy: string;
  store: string;
  table_name: string;
  action: "anonymize" | "delete";
  dry_run: boolean;
  status: string;
  trigger: string;
  cutoff: string;
  checkpoint: string[] | null;
  pending: PendingBatch | null;
  rows_matched: string;
  rows_changed: string;
  rows_held: string;
  cascaded: Record<string, number>;
  batches: number;
  max_batch_ms: number;
}

/** A run as its execution reads it (the cutoff as text). */
export async function loadRun(db: RunDb, runId: string): Promise<LoadedRun | undefined> {
  const res = await db.query<LoadedRun>(
    `SELECT id, policy, store, table_name, action, dry_run, status, trigger, cutoff::text AS cutoff, checkpoint, pending,
            rows_matched, rows_changed, rows_held, cascaded, batches, max_batch_ms
       FROM lethe.retention_run WHERE id = $1`,
    [runId],
  );
  return res.rows[0];
}

/** The run is `running` from `checkpoint` with these totals; no batch in flight. */
export async function startRun(db: RunDb, runId: string, checkpoint: string[] | null, t: RunTotals): Promise<void> {
  await db.query(
    `UPDATE lethe.retention_run SET status = 'running', started_at = coalesce(started_at, now()), pending = NULL, checkpoint = $2,
            rows_matched = $3, rows_changed = $4, rows_held = $5, cascaded = $6, batches = $7, updated_at = now() WHERE id = $1`,
    [runId, JSON.stringify(checkpoint), t.matched, t.changed, t.held, JSON.stringify(t.cascaded), t.batches],
  );
}

/**
 * Records the batch in flight (before its COMMIT in the application's database) beside the totals
 * of the batches before it. False when the run is no longer running (failed elsewhere).
 */
export async function recordPendingBatch(db: RunDb, runId: string, pending: PendingBatch, checkpoint: string[] | null, t: RunTotals): Promise<boolean> {
  const saved = await db.query(
    `UPDATE lethe.retention_run SET pending = $2, checkpoint = $3, rows_matched = $4, rows_changed = $5, rows_held = $6, cascaded = $7,
            batches = $8, max_batch_ms = $9, updated_at = now() WHERE id = $1 AND status = 'running'`,
    [runId, JSON.stringify(pending), JSON.stringify(checkpoint), t.matched, t.changed, t.held, JSON.stringify(t.cascaded), t.batches, t.maxBatchMs],
  );
  return saved.rowCount === 1;
}

/** Saves the checkpoint and totals (a dry run, which has no batch in flight). */
export async function saveTotals(db: RunDb, runId: string, checkpoint: string[] | null, t: RunTotals): Promise<void> {
  await db.query(
    `UPDATE lethe.retention_run SET checkpoint = $2, rows_matched = $3, rows_changed = $4, rows_held = $5, cascaded = $6, batches = $7,
            max_batch_ms = $8, updated_at = now() WHERE id = $1`,
    [runId, JSON.stringify(checkpoint), t.matched, t.changed, t.held, JSON.stringify(t.cascaded), t.batches, t.maxBatchMs],
  );
}

/** Ends the run with its totals and writes its one audit entry (`event`, counts only), in one statement. */
export async function finishRun(
  db: RunDb,
  runId: string,
  checkpoint: string[] | null,
  t: RunTotals,
  event: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `WITH run AS (
       UPDATE lethe.retention_run SET status = 'completed', pending = NULL, checkpoint = $2, rows_matched = $3, rows_changed = $4, rows_held = $5,
              cascaded = $6, batches = $7, max_batch_ms = $8, finished_at = now(), updated_at = now(), error_code = NULL, error_message = NULL
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING id)
     ${appendAuditSql({ event: "$9", actor: "'worker'", detail: "$10" }, "run")}`,
    [runId, JSON.stringify(checkpoint), t.matched, t.changed, t.held, JSON.stringify(t.cascaded), t.batches, t.maxBatchMs, event, JSON.stringify(detail)],
  );
}
