import type { Pool, PoolClient, QueryResult } from "pg";
import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError, VerificationFailure } from "../../errors";
import { contactColumns } from "../../subject/contact";
import { identityByName, identitySpecs } from "../../subject/identity-match";
import type { SubjectRef } from "../../subject/reference";
import type { SubjectSnapshot } from "../../subject/snapshot";
import type { StepCount } from "../../types";
import { compiledErasure, linkColumnsOf, type CompiledErasure, type CompiledMode, type TableFigures } from "./compile";
import { qualified, quoteIdent } from "./ident";
import { identityEqualsSql } from "./identity-sql";
import { newMaskKey } from "./masking";
import type { StorePlan } from "./store-plan";

/**
 * Finds the subject by key or identity and snapshots it: key, identities, contact columns and the
 * link columns, as text. The identity is compared by its match rule (`subject/identity-match`:
 * emails case-insensitive and trimmed, `lower(btrim(col))` so an expression index serves it).
 * Null when no row matches (an erasure of an unknown or already deleted subject is a no-op); a
 * permanent `subject_ambiguous` error when several rows match after normalisation.
 */
export async function resolveSubject(pool: Pool, plan: StorePlan, map: DataMap, ref: SubjectRef): Promise<SubjectSnapshot | null> {
  const info = plan.tables.get(plan.subjectTable)!.info;
  const identity = identityByName(map.subject, ref.name);
  if (!identity) throw new PermanentError(ERROR_CODES.badPayload, `unknown identity "${ref.name}"`);
  const identityCols = identitySpecs(map.subject);
  const contact = contactColumns(map);
  const cols = new Set([map.subject.key, ...identityCols.map((i) => i.column), ...Object.values(contact), ...linkColumnsOf(plan, plan.subjectTable)]);
  const list = [...cols].map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join(", ");
  const type = info.columns.get(identity.column)?.sqlType ?? "text";
  const res = await pool.query<Record<string, string | null>>(
    `SELECT ${list} FROM ${qualified(plan.schemaName, plan.subjectTable)} WHERE ${identityEqualsSql(identity.column, "$1", identity.match, type)} LIMIT 2`,
    [ref.value],
  );
  if (res.rows.length === 0) return null;
  if (res.rows.length > 1) throw new PermanentError(ERROR_CODES.subjectAmbiguous, `more than one subject row matches the given ${ref.name}`);
  return snapshotOfRow(map, res.rows[0]!);
}

/** Turns the subject row's snapshot columns into a {@link SubjectSnapshot}. */
export function snapshotOfRow(map: DataMap, row: Record<string, string | null>): SubjectSnapshot {
  const identities: Record<string, string> = { id: row[map.subject.key]! };
  for (const { name, column } of identitySpecs(map.subject)) if (row[column] !== null && row[column] !== undefined) identities[name] = row[column]!;
  const found: Record<string, string> = {};
  for (const [what, column] of Object.entries(contactColumns(map))) if (row[column] !== null && row[column] !== undefined) found[what] = row[column]!;
  return { identities, seed: row, ...(Object.keys(found).length > 0 ? { contact: found } : {}) };
}

/** Connections that have created a compiled erasure's function and tables (by fingerprint). */
const prepared = new WeakMap<object, Set<string>>();

/** Whether the connection has created the compiled erasure's function and tables already. */
function isCompiledOn(client: PoolClient, compiled: CompiledErasure): boolean {
  return prepared.get(client)?.has(compiled.fingerprint) === true;
}

function markCompiledOn(client: PoolClient, compiled: CompiledErasure): void {
  let done = prepared.get(client);
  if (!done) prepared.set(client, (done = new Set()));
  done.add(compiled.fingerprint);
}

interface CallArgs {
  mode: CompiledMode;
  identity?: number;
  /** The identity's name (messages). */
  name?: string;
  value?: string;
  snapshot?: SubjectSnapshot;
}

interface RawResult {
  xid?: string;
  matched?: number;
  seed?: Record<string, string | null>;
  tables?: TableFigures[];
  left?: TableFigures[];
  /** A big subject's sets were analyzed: the connection's plans are sized for it, so it is closed after the call. */
  analyzed?: boolean;
}

/**
 * Runs the compiled erasure in one transaction on one pooled connection: BEGIN, the call, then
 * `within` (before COMMIT; it may throw to roll back), COMMIT. Two round trips on a pipelined
 * connection (BEGIN travels with the call), three on another.
 */
async function callCompiled<T>(pool: Pool, compiled: CompiledErasure, args: CallArgs, within: (result: RawResult) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection is closed rather than reused after an error (its temporary tables' statistics may
  // be left from a rolled-back call) or after a big subject (see `analyzed`); the next call on a
  // fresh connection sets the compiled erasure up again.
  let discard = true;
  try {
    // Set-up (the first time on this connection), BEGIN and the call are issued together: on a
    // pipelined connection (`StorePools.pipelinedPool`) they travel in one round trip; on another
    // they run one after the other. The set-up runs outside the transaction (before BEGIN).
    const key = newMaskKey();
    const needsSetup = !isCompiledOn(client, compiled);
    const setup = () => client.query(compiled.setupSql);
    const begin = () =>
      client.query(args.mode === "erase" ? "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE" : "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY");
    const call = () =>
      client.query<{ r: RawResult }>(`SELECT ${compiled.functionName}($1, $2, $3, $4, $5, $6, $7) AS r`, [
        args.mode,
        args.identity ?? null,
        args.value ?? null,
        args.snapshot?.identities.id ?? null,
        args.snapshot ? JSON.stringify(args.snapshot.seed) : null,
        key.ipad,
        key.opad,
      ]);
    const pipelined = (client as unknown as { pipeline?: boolean }).pipeline === true;
    const issued: Promise<QueryResult<{ r: RawResult }>> = pipelined
      ? Promise.allSettled([needsSetup ? setup() : undefined, begin(), call()]).then((all) => {
          const failed = all.find((r): r is PromiseRejectedResult => r.status === "rejected");
          if (failed) throw failed.reason;
          return (all[2] as PromiseFulfilledResult<QueryResult<{ r: RawResult }>>).value;
        })
      : (async () => {
          if (needsSetup) await setup();
          await begin();
          return call();
        })();
    try {
      const called = await issued;
      if (needsSetup) markCompiledOn(client, compiled);
      const result = called.rows[0]!.r;
      const out = await within(result);
      await client.query("COMMIT");
      discard = result.analyzed === true;
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    client.release(discard);
  }
}

/** Steps from per-table figures (the receipt): kept rows all, other actions the rows changed; shared rows apart. */
function stepsOf(plan: StorePlan, tables: TableFigures[]): StepCount[] {
  const steps: StepCount[] = [];
  plan.order.forEach((name, i) => {
    const spec = plan.tables.get(name)!.spec;
    const [decided, shared, changed] = tables[i]!.map(Number) as TableFigures;
    const rows = spec.action === "keep" ? decided : changed;
    steps.push({ store: plan.store, table: name, action: spec.action, rows, ...(spec.action === "keep" && spec.ground ? { ground: spec.ground } : {}) });
    if (shared > 0) steps.push({ store: plan.store, table: name, action: "shared", rows: shared });
  });
  return steps;
}

/** Names and counts of what is left (verification). */
function leftoversOf(plan: StorePlan, left: TableFigures[]): string[] {
  const problems: string[] = [];
  plan.order.forEach((name, i) => {
    const n = Number(left[i]![3]);
    if (n === 0) return;
    const deleted = plan.tables.get(name)!.spec.action === "delete";
    problems.push(`${plan.store}.${name}: ${n} row(s) ${deleted ? "still present" : "not masked"}`);
  });
  return problems;
}

/** Preview: the plan as counts (delete / anonymize / keep with ground / shared). Changes nothing. */
export async function previewStore(pool: Pool, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot): Promise<StepCount[]> {
  return callCompiled(pool, compiledErasure(plan, map), { mode: "preview", snapshot }, async (r) => stepsOf(plan, r.tables!));
}

/**
 * The erasure left something identifying behind; the store transaction is rolled back. Retryable
 * (`VerificationFailure`): a concurrent change (a sweep) can cause it, and a new attempt fixes it.
 */
export class LeftoversError extends VerificationFailure {}

/** Records an erasure before COMMIT: its transaction id, counts, and (when it resolved the subject) the snapshot. */
export type PrepareErasure = (xid: string, steps: StepCount[], snapshot: SubjectSnapshot) => Promise<void>;

/**
 * Erases the subject from one Postgres store in ONE transaction, and verifies the result inside
 * it (re-locating the subject from its snapshot) before anything commits; leftovers roll it back
 * with a retryable {@link LeftoversError}. Before COMMIT,
 * `prepare` is given the transaction id and the counts so the caller can record them durably;
 * after a crash, `txid_status(xid)` tells whether this transaction committed.
 */
export async function eraseStore(pool: Pool, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot, prepare: PrepareErasure): Promise<StepCount[]> {
  const done = await eraseCompiled(pool, plan, map, { mode: "erase", snapshot }, prepare);
  return done!.steps;
}

/**
 * The subject's own store, resolve and erase in one transaction: the subject row is found by `ref`
 * and locked, snapshotted, erased with everything of theirs, verified; `prepare` gets the snapshot
 * before COMMIT (it may throw to roll everything back, e.g. when a legal hold covers the subject).
 * Null when no row matches (nothing changed); `subject_ambiguous` when several do.
 */
export async function resolveAndEraseStore(
  pool: Pool,
  plan: StorePlan,
  map: DataMap,
  ref: SubjectRef,
  prepare: PrepareErasure,
): Promise<{ steps: StepCount[]; snapshot: SubjectSnapshot } | null> {
  const compiled = compiledErasure(plan, map);
  const identity = compiled.identities.indexOf(ref.name);
  if (identity < 0) throw new PermanentError(ERROR_CODES.badPayload, `unknown identity "${ref.name}"`);
  return eraseCompiled(pool, plan, map, { mode: "erase", identity, name: ref.name, value: ref.value }, prepare);
}

async function eraseCompiled(
  pool: Pool,
  plan: StorePlan,
  map: DataMap,
  args: CallArgs,
  prepare: PrepareErasure,
): Promise<{ steps: StepCount[]; snapshot: SubjectSnapshot } | null> {
  const compiled = compiledErasure(plan, map);
  try {
    return await callCompiled(pool, compiled, args, async (r) => {
      if (args.identity !== undefined && r.matched !== 1) {
        if ((r.matched ?? 0) > 1)
          throw new PermanentError(ERROR_CODES.subjectAmbiguous, `more than one subject row matches the given ${args.name ?? "identity"}`);
        throw new NotFound();
      }
      const leftovers = leftoversOf(plan, r.left!);
      if (leftovers.length > 0) throw new LeftoversError(leftovers);
      const snapshot = args.snapshot ?? snapshotOfRow(map, r.seed!);
      const steps = stepsOf(plan, r.tables!);
      await prepare(r.xid!, steps, snapshot);
      return { steps, snapshot };
    });
  } catch (err) {
    if (err instanceof NotFound) return null;
    throw err;
  }
}

class NotFound extends Error {}

/** What `txid_status` says of a recorded transaction: committed, aborted, in progress, or unknown (null). */
export async function transactionStatus(pool: Pool, xid: string): Promise<string | null> {
  const res = await pool.query<{ s: string | null }>("SELECT txid_status($1::bigint) AS s", [xid]);
  return res.rows[0]?.s ?? null;
}

/**
 * Re-locates the subject (from its snapshot, so rows linked to a deleted subject row are found
 * too) in its own read-only transaction and lists what still identifies it: rows of deleted
 * tables that are not shared, and rows of masking tables that are not masked. Table names and
 * counts only.
 */
export async function verifyStore(pool: Pool, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot): Promise<string[]> {
  return callCompiled(pool, compiledErasure(plan, map), { mode: "verify", snapshot }, async (r) => leftoversOf(plan, r.left!));
}
