import { Client, type PoolClient } from "pg";
import { sweepExemptHashes } from "../db/tables/legal-hold";
import { finishRun, loadRun, recordPendingBatch, saveTotals, startRun, type LoadedRun, type RunTotals } from "../db/tables/retention-run";
import type { PendingBatch } from "../db/entities/retention-run";
import { newMaskKey } from "../stores/postgres/masking";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import type { Services } from "../services";
import { applyBatch, countBatch, type BatchCounts } from "./sweep-batch";
import { buildSweepPlan, type SweepPlan } from "./sweep-plan";
import { anyAfterSql, boundSql, type BatchInput } from "./sweep-sql";

/**
 * Executes one retention run, resumably and exactly:
 *
 * - one run of a policy at a time: a session advisory lock on Lethe's database (released when the
 *   connection ends, also when the process is killed);
 * - the table is walked in primary-key ranges; each batch is one short transaction in the
 *   application's database;
 * - before a batch commits, its transaction id, its range and its counts are written to the run
 *   row (`pending`), and the counts only join the run's totals once the batch is known to have
 *   committed: at the next batch, or — after a crash — when `txid_status()` says so. The two
 *   databases may differ; counts stay exact either way, and a batch that did not commit is
 *   simply run again (batches are idempotent).
 */

/** What a sweep uses of the process's services. */
type SweepServices = Pick<Services, "ds" | "config" | "dataMap" | "pools" | "logger">;

/** Per-execution hooks: progress reporting and cancellation. */
export interface RunContext {
  log: Logger;
  /** Called after each committed batch (the job's `updateProgress`). */
  progress?: (p: RunProgress) => Promise<void>;
  /** Stops between batches; the run resumes from its checkpoint on the next attempt. */
  signal?: AbortSignal;
}

/** Progress of a run, as reported per batch. Counts only. */
export interface RunProgress {
  runId: string;
  batches: number;
  matched: number;
  changed: number;
  held: number;
}

/** What one execution ended with. */
export interface RunOutcome {
  /** `skipped`: the run had already ended (a duplicate or late job). */
  status: "completed" | "skipped";
  runId: string;
  matched: number;
  changed: number;
  held: number;
  batches: number;
}

/** Another execution of the same policy holds its lock; retry later. */
export class PolicyBusyError extends Error {
  override readonly name = "PolicyBusyError";
}

/** How long a resumed run waits for a killed predecessor's batch transaction to end. */
const IN_PROGRESS_WAIT_MS = 15_000;

/** Due rows of a run's first batch (at most the policy's batchSize). */
export const FIRST_BATCH_SIZE = 50;
/** The time a batch transaction aims at. */
export const BATCH_TARGET_MS = 500;
/** Above this, the next batch is at most half as big; the hard limit is a second. */
export const BATCH_SLOW_MS = 800;

/** One measured batch: rows asked for and milliseconds taken. */
export interface BatchTiming {
  size: number;
  ms: number;
}

/**
 * The next batch's size after batch `last` (and `prev` before it). Two batches of different sizes
 * give a cost model `ms = fixed + perRow * size` (the fixed part is e.g. one scan of a linked
 * table whose link column has no index, which a smaller batch does not make cheaper); the next
 * size aims at {@link BATCH_TARGET_MS}. Without a model: double while under half the target.
 * Changes are bounded (at most ×2, at least ÷4), a batch over {@link BATCH_SLOW_MS} halves the
 * size, and the result stays within 1 … `max`.
 */
export function nextBatchSize(last: BatchTiming, prev: BatchTiming | null, max: number): number {
  const { size, ms } = last;
  let next = size;
  if (prev && prev.size !== size) {
    const perRow = Math.max((ms - prev.ms) / (size - prev.size), 1e-4);
    const fixed = Math.max(ms - perRow * size, 0);
    next = fixed >= BATCH_TARGET_MS * 0.8 ? size : Math.floor((BATCH_TARGET_MS - fixed) / perRow);
  } else if (ms < BATCH_TARGET_MS / 2) {
    next = size * 2;
  }
  next = Math.min(next, size * 2);
  next = Math.max(next, Math.floor(size / 4));
  if (ms > BATCH_SLOW_MS) next = Math.min(next, Math.floor(size / 2));
  return Math.max(1, Math.min(max, next));
}

/** Advisory lock keys: Lethe's retention namespace and the policy. */
const LOCK_SQL = `hashtext('lethe.retention'), hashtext($1)`;

function add(t: RunTotals, b: BatchCounts): void {
  t.matched += b.matched;
  t.changed += b.changed;
  t.held += b.held;
  for (const [table, n] of Object.entries(b.cascaded)) t.cascaded[table] = (t.cascaded[table] ?? 0) + n;
  t.batches += 1;
}

/** Runs `runId` to its end (or resumes it). Throws to have the job retried; counts survive. */
export async function executeRun(rt: SweepServices, runId: string, ctx: RunContext): Promise<RunOutcome> {
  const lethe = new Client({ connectionString: rt.config.databaseUrl, application_name: "lethe-retention" });
  lethe.on("error", () => undefined);
  await lethe.connect();
  let locked: string | null = null;
  let app: PoolClient | null = null;
  try {
    const first = await loadRun(lethe, runId);
    if (!first) throw new PermanentError(ERROR_CODES.badPayload, "unknown retention run id");
    const got = await lethe.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_SQL}) AS ok`, [first.policy]);
    if (!got.rows[0]?.ok) throw new PolicyBusyError(`policy "${first.policy}" is being swept by another execution`);
    locked = first.policy;
    const run = (await loadRun(lethe, runId))!;
    const totals: RunTotals = {
      matched: Number(run.rows_matched),
      changed: Number(run.rows_changed),
      held: Number(run.rows_held),
      cascaded: { ...run.cascaded },
      batches: run.batches,
      maxBatchMs: run.max_batch_ms,
    };
    const outcome = (status: RunOutcome["status"]): RunOutcome => ({
      status,
      runId,
      matched: totals.matched,
      changed: totals.changed,
      held: totals.held,
      batches: totals.batches,
    });
    if (run.status === "completed" || run.status === "failed") return outcome("skipped");

    const policy = rt.dataMap.retention.find((p) => p.name === run.policy);
    if (!policy) throw new PermanentError(ERROR_CODES.dataMapInvalid, `retention policy "${run.policy}" is no longer in the data map`);
    if (policy.store !== run.store || policy.table !== run.table_name || policy.action !== run.action) {
      throw new PermanentError(ERROR_CODES.dataMapInvalid, `retention policy "${run.policy}" changed its store, table or action since the run was created`);
    }
    const plan = buildSweepPlan(rt.dataMap, policy, await rt.pools.schema(policy.store));
    const pool = rt.pools.pool(policy.store);
    let checkpoint = run.checkpoint;
    if (run.pending) {
      const status = await settledStatus(pool, run.pending.xid);
      if (status === "committed") {
        add(totals, run.pending);
        checkpoint = run.pending.hi;
        ctx.log.info({ runId, batches: totals.batches }, "the interrupted batch committed; resuming after it");
        if (run.pending.hi === null) {
          await finish(lethe, run, totals, null);
          return outcome("completed");
        }
      } else {
        ctx.log.info({ runId, txStatus: status ?? "unknown" }, "the interrupted batch did not commit; running it again");
      }
    }
    await startRun(lethe, runId, checkpoint, totals);
    ctx.log.info({ runId, policy: policy.name, dryRun: run.dry_run, resumed: checkpoint !== null }, "sweep started");

    app = await pool.connect();
    const maskKey = newMaskKey();
    const holdKey = newMaskKey(rt.config.hmacKey);
    // Adaptive batch size: a batch transaction must stay well under a second even where a
    // linked table has no index on its link column (each batch then scans it once). Runs start
    // small, double while batches are quick, and shrink when one is slow; never above the policy's
    // batchSize.
    let size = Math.min(plan.policy.batchSize, FIRST_BATCH_SIZE);
    let lastTiming: BatchTiming | null = null;
    // The next batch's upper key is looked up on another connection while this batch runs.
    const upperKey = async (after: string[] | null, rows: number): Promise<string[] | null> => {
      const bound = boundSql(plan, after, run.cutoff, rows);
      const next = await pool.query<Record<string, string>>(bound.sql, bound.params);
      return next.rows[0] ? plan.pk.map((_, i) => next.rows[0]![`k${i}`]!) : null;
    };
    const lookAhead = (after: string[] | null, rows: number) => {
      const key = upperKey(after, rows);
      key.catch(() => undefined);
      return { after, rows, key };
    };
    let reported: Promise<unknown> = Promise.resolve();
    let lo = checkpoint;
    if (plan.cascade.length > 0 && !run.dry_run) {
      // Warm-up outside any write transaction: the first batch's reads once, read-only, so the
      // first real batch does not pay for a cold cache (a linked table scanned without an index).
      const hi = await upperKey(lo, size);
      await dryBatch(app, plan, { cutoff: run.cutoff, lo, hi, holds: [], maskKey, holdKey });
    }
    let ahead = lookAhead(lo, size);
    for (;;) {
      if (ctx.signal?.aborted) throw new Error("sweep interrupted; it resumes from its checkpoint");
      // A look-ahead made for another size (the size changed since) is looked up again.
      if (ahead.rows !== size || ahead.after !== lo) ahead = lookAhead(lo, size);
      const [hi, holds] = await Promise.all([ahead.key, sweepExemptHashes(lethe)]);
      if (hi === null) {
        const rest = anyAfterSql(plan, lo, run.cutoff);
        if ((await app.query(rest.sql, rest.params)).rowCount === 0) break;
      } else {
        ahead = lookAhead(hi, size);
      }
      const input: BatchInput = { cutoff: run.cutoff, lo, hi, holds, maskKey, holdKey };
      const started = performance.now();
      const counts = run.dry_run ? await dryBatch(app, plan, input) : await realBatch(app, lethe, plan, input, runId, checkpoint, totals);
      const ms = Math.round(performance.now() - started);
      add(totals, counts);
      totals.maxBatchMs = Math.max(totals.maxBatchMs, ms);
      const timing = { size, ms };
      size = nextBatchSize(timing, lastTiming, plan.policy.batchSize);
      lastTiming = timing;
      checkpoint = hi;
      if (run.dry_run) await saveTotals(lethe, runId, checkpoint, totals);
      ctx.log.debug({ runId, batch: totals.batches, ms, rows: size, changed: counts.changed, held: counts.held }, "batch done");
      const progress = { runId, batches: totals.batches, matched: totals.matched, changed: totals.changed, held: totals.held };
      // Progress is reported off the batch path; a lost update is harmless (the run row is the truth).
      reported = reported.then(() => ctx.progress?.(progress)).catch((err: unknown) => ctx.log.warn({ err, runId }, "could not report progress"));
      if (hi === null) break;
      lo = hi;
    }
    await reported;
    await finish(lethe, run, totals, checkpoint);
    ctx.log.info(
      {
        runId,
        policy: policy.name,
        matched: totals.matched,
        changed: totals.changed,
        held: totals.held,
        batches: totals.batches,
        maxBatchMs: totals.maxBatchMs,
      },
      "sweep done",
    );
    return outcome("completed");
  } finally {
    app?.release();
    if (locked) await lethe.query(`SELECT pg_advisory_unlock(${LOCK_SQL})`, [locked]).catch(() => undefined);
    await lethe.end().catch(() => undefined);
  }
}

/**
 * The final status of a recorded batch transaction; waits while it is still in progress (a
 * killed worker's backend ends it shortly). Null: too old to tell, treated as not committed.
 */
async function settledStatus(pool: { query: PoolClient["query"] }, xid: string): Promise<string | null> {
  const deadline = Date.now() + IN_PROGRESS_WAIT_MS;
  for (;;) {
    const res = await pool.query<{ s: string | null }>(`SELECT txid_status($1::bigint) AS s`, [xid]);
    const status = res.rows[0]?.s ?? null;
    if (status !== "in progress") return status;
    if (Date.now() > deadline) throw new Error("the interrupted batch's transaction is still open; retrying later");
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function dryBatch(app: PoolClient, plan: SweepPlan, input: BatchInput): Promise<BatchCounts> {
  await app.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const counts = await countBatch(app, plan, input);
    await app.query("COMMIT");
    return counts;
  } catch (err) {
    await app.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/**
 * One real batch: BEGIN and the transaction id, the change, then — before COMMIT — the batch
 * recorded as pending on the run row beside the totals of the batches before it.
 */
async function realBatch(
  app: PoolClient,
  lethe: Client,
  plan: SweepPlan,
  input: BatchInput,
  runId: string,
  checkpoint: string[] | null,
  totals: RunTotals,
): Promise<BatchCounts> {
  const begun = (await app.query(`BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SELECT txid_current()::text AS xid`)) as unknown as Array<{
    rows: Array<{ xid: string }>;
  }>;
  const xid = begun[1]!.rows[0]!.xid;
  try {
    const counts = await applyBatch(app, plan, input);
    const pending: PendingBatch = { xid, hi: input.hi, ...counts };
    if (!(await recordPendingBatch(lethe, runId, pending, checkpoint, totals)))
      throw new PermanentError(ERROR_CODES.runNotRunning, "the run is no longer running (marked failed elsewhere); batch rolled back");
    await app.query("COMMIT");
    return counts;
  } catch (err) {
    await app.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** Ends the run with its totals and writes its one audit entry (counts only), in one statement. */
async function finish(lethe: Client, run: LoadedRun, t: RunTotals, checkpoint: string[] | null): Promise<void> {
  const detail = {
    runId: run.id,
    policy: run.policy,
    store: run.store,
    table: run.table_name,
    action: run.action,
    dryRun: run.dry_run,
    trigger: run.trigger,
    cutoff: run.cutoff,
    matched: t.matched,
    changed: t.changed,
    held: t.held,
    cascaded: t.cascaded,
    batches: t.batches,
  };
  await finishRun(lethe, run.id, checkpoint, t, run.dry_run ? "retention.previewed" : "retention.completed", detail);
}
