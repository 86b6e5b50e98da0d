import type { Pool, PoolClient } from "pg";
import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError, VerificationFailure } from "../../errors";
import { contactColumns } from "../../subject/contact";
import { identityByName, identitySpecs } from "../../subject/identity-match";
import type { SubjectRef } from "../../subject/reference";
import type { SubjectSnapshot } from "../../subject/snapshot";
import type { StepCount } from "../../types";
import { applyDecisions, countChanges, unmaskedSql } from "./apply";
import { collectRows, linkColumns, type Seed } from "./collect";
import { countsOf, decide } from "./decide";
import { qualified, quoteIdent } from "./ident";
import { identityEqualsSql } from "./identity-sql";
import { rowIdInSql } from "./row-id";
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
  const cols = new Set([map.subject.key, ...identityCols.map((i) => i.column), ...Object.values(contact), ...linkColumns(plan, plan.subjectTable)]);
  const list = [...cols].map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join(", ");
  const type = info.columns.get(identity.column)?.sqlType ?? "text";
  const res = await pool.query<Record<string, string | null>>(
    `SELECT ${list} FROM ${qualified(plan.schemaName, plan.subjectTable)} WHERE ${identityEqualsSql(identity.column, "$1", identity.match, type)} LIMIT 2`,
    [ref.value],
  );
  if (res.rows.length === 0) return null;
  if (res.rows.length > 1) throw new PermanentError(ERROR_CODES.subjectAmbiguous, `more than one subject row matches the given ${ref.name}`);
  const row = res.rows[0]!;
  const identities: Record<string, string> = { id: row[map.subject.key]! };
  for (const { name, column } of identityCols) if (row[column] !== null && row[column] !== undefined) identities[name] = row[column]!;
  const found: Record<string, string> = {};
  for (const [what, column] of Object.entries(contact)) if (row[column] !== null && row[column] !== undefined) found[what] = row[column]!;
  return { identities, seed: row, ...(Object.keys(found).length > 0 ? { contact: found } : {}) };
}

function seedOf(plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot, withVirtual: boolean): Seed {
  return { column: map.subject.key, value: snapshot.identities.id!, ...(withVirtual ? { virtual: [snapshot.seed] } : {}) };
}

/** Runs `fn` in one transaction; `fn` gets the transaction id in READ WRITE mode, else "". */
async function inTransaction<T>(pool: Pool, mode: "READ WRITE" | "READ ONLY", fn: (c: PoolClient, xid: string) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    let xid = "";
    if (mode === "READ WRITE") {
      // BEGIN and the transaction id in one round trip (a simple multi-statement query).
      const begun = (await client.query(`BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SELECT txid_current()::text AS xid`)) as unknown as Array<{
        rows: Array<{ xid: string }>;
      }>;
      xid = begun[1]!.rows[0]!.xid;
    } else {
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY");
    }
    const out = await fn(client, xid);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Preview: the plan as counts (delete / anonymize / keep with ground / shared). Changes nothing. */
export async function previewStore(pool: Pool, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot): Promise<StepCount[]> {
  return inTransaction(pool, "READ ONLY", async (c) => {
    const decisions = await decide(c, plan, await collectRows(c, plan, seedOf(plan, map, snapshot, false), false));
    return countsOf(plan, decisions, await countChanges(c, plan, decisions, newMaskKey()));
  });
}

/**
 * The erasure left something identifying behind; the store transaction is rolled back. Retryable
 * (`VerificationFailure`): a concurrent change (a sweep) can cause it, and a new attempt fixes it.
 */
export class LeftoversError extends VerificationFailure {}

/**
 * Erases the subject from one Postgres store in ONE transaction, and verifies the result inside
 * it (re-locating the subject from its snapshot) before anything commits; leftovers roll it back
 * with a retryable {@link LeftoversError}. Before COMMIT,
 * `prepare` is given the transaction id and the counts so the caller can record them durably;
 * after a crash, `txid_status(xid)` tells whether this transaction committed.
 */
export async function eraseStore(
  pool: Pool,
  plan: StorePlan,
  map: DataMap,
  snapshot: SubjectSnapshot,
  prepare: (xid: string, steps: StepCount[]) => Promise<void>,
): Promise<StepCount[]> {
  return inTransaction(pool, "READ WRITE", async (c, xid) => {
    // The subject row is locked first (the collection's first statement); linked rows are found
    // from its current values AND from the identities snapshotted when the request started, the
    // same seed the verification below uses: a sweep that re-masked the customer's email since
    // then cannot hide the rows linked by the old one (issue 9, item 14).
    const decisions = await decide(c, plan, await collectRows(c, plan, seedOf(plan, map, snapshot, true), true));
    const steps = countsOf(plan, decisions, await applyDecisions(c, plan, decisions, newMaskKey()));
    const leftovers = await findLeftovers(c, plan, map, snapshot);
    if (leftovers.length > 0) throw new LeftoversError(leftovers);
    await prepare(xid, steps);
    return steps;
  });
}

/** What `txid_status` says of a recorded transaction: committed, aborted, in progress, or unknown (null). */
export async function transactionStatus(pool: Pool, xid: string): Promise<string | null> {
  const res = await pool.query<{ s: string | null }>("SELECT txid_status($1::bigint) AS s", [xid]);
  return res.rows[0]?.s ?? null;
}

/**
 * Re-locates the subject (from its snapshot, so rows linked to a deleted subject row are found
 * too) and lists what still identifies it: rows of deleted tables that are not shared, and rows
 * of masking tables that are not masked. Table names and counts only.
 */
export async function findLeftovers(c: PoolClient, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot): Promise<string[]> {
  const decisions = await decide(c, plan, await collectRows(c, plan, seedOf(plan, map, snapshot, true), false));
  const key = newMaskKey();
  const problems: string[] = [];
  for (const d of decisions) {
    const table = plan.tables.get(d.table)!;
    const ctids = d.rows.map((r) => r.ctid!);
    if (ctids.length === 0) continue;
    if (table.spec.action === "delete") {
      problems.push(`${plan.store}.${d.table}: ${ctids.length} row(s) still present`);
      continue;
    }
    const unmasked = unmaskedSql(table, "$2", "$3");
    if (!unmasked) continue;
    const res = await c.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${qualified(plan.schemaName, d.table)} WHERE ${rowIdInSql("$1")} AND ${unmasked}`,
      [ctids, key.ipad, key.opad],
    );
    const n = Number(res.rows[0]!.n);
    if (n > 0) problems.push(`${plan.store}.${d.table}: ${n} row(s) not masked`);
  }
  return problems;
}

/** {@link findLeftovers} in its own read-only transaction (after a resumed, committed erasure). */
export async function verifyStore(pool: Pool, plan: StorePlan, map: DataMap, snapshot: SubjectSnapshot): Promise<string[]> {
  return inTransaction(pool, "READ ONLY", (c) => findLeftovers(c, plan, map, snapshot));
}
