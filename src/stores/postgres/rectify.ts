import type { Pool, PoolClient } from "pg";
import type { DataMap } from "../../datamap/schema";
import type { SubjectSnapshot } from "../../subject/snapshot";
import type { FieldChange, RectifyOutcome, RecordRectified, RightsStep, ValueProblem } from "../rights-side";
import { qualified, quoteIdent } from "./ident";
import { matchedColumnSql, matchedValueSql } from "./identity-sql";
import type { SchemaInfo } from "./introspect";
import { maskSql, newMaskKey } from "./masking";
import { baseType, linkedSubjectColumns, planFieldChanges, type TableChange } from "./rectify-plan";
import type { PostgresStoreSpec } from "./schema";

/**
 * A rectification (or an erasure of fields) in a Postgres store: one transaction, the subject row
 * locked first, copies changed in the subject's rows only, the subject table last; the step
 * counts and the transaction id recorded before COMMIT so a crashed worker resumes exactly
 * (`txid_status`). Values are bound parameters typed by their column, never SQL text; nothing
 * here logs or throws a value.
 */

/** What a rectification reads of the store. */
export interface RectifyStore {
  pool: Pool;
  map: DataMap;
  store: string;
  spec: PostgresStoreSpec;
  schema: SchemaInfo;
}

/** An UPDATE of one table: SQL text and parameters. */
interface Update {
  table: TableChange;
  text: string;
  params: unknown[];
}

/** Builds the UPDATE of one table; `old` holds the subject row's link values (as text). */
function updateOf(s: RectifyStore, t: TableChange, snapshot: SubjectSnapshot, old: Record<string, string | null>, onlyFields?: Set<string>): Update | null {
  const columns = t.columns.filter((c) => !onlyFields || onlyFields.has(c.field));
  if (columns.length === 0) return null;
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const needsKey = columns.some((c) => c.erase?.mask && c.erase.mask !== "null");
  const key = needsKey ? newMaskKey() : null;
  const ipad = key ? p(key.ipad) : "";
  const opad = key ? p(key.opad) : "";
  // Untyped parameters take their column's type, so a too-long value or a bad number fails instead of being truncated.
  const sets = columns.map(
    (c) => `${quoteIdent(c.column.name)} = ${c.erase ? (c.erase.mask ? maskSql(c.erase.mask, c.column, ipad, opad).value : "NULL") : p(c.value)}`,
  );
  const info = s.schema.tables.get(t.table)!;
  let where: string;
  if (t.links.length === 0) {
    const keyType = baseType(info.columns.get(s.map.subject.key)?.sqlType ?? "text");
    where = `${quoteIdent(s.map.subject.key)} = ${p(snapshot.identities.id)}::text::${keyType}`;
  } else {
    const terms = t.links.map((l) => {
      const eq = l.from.columns.map((col, i) => {
        const value = old[l.to.columns[i]!];
        if (value === null || value === undefined) return "false";
        const type = baseType(info.columns.get(col)?.sqlType ?? "text");
        return `${matchedColumnSql(quoteIdent(col), l.match)} = ${matchedValueSql(p(value), l.match, type)}`;
      });
      return `(${eq.join(" AND ")})`;
    });
    where = terms.join(" OR ");
  }
  return { table: t, text: `UPDATE ${qualified(s.spec.schema, t.table)} SET ${sets.join(", ")} WHERE ${where}`, params };
}

/** Locks and reads the subject row's link values (as text); null when the subject row is gone. */
async function lockSubject(c: PoolClient, s: RectifyStore, plan: TableChange[], snapshot: SubjectSnapshot): Promise<Record<string, string | null> | null> {
  const info = s.schema.tables.get(s.map.subject.table)!;
  const cols = linkedSubjectColumns(plan);
  const list = [s.map.subject.key, ...cols].map((col) => `${quoteIdent(col)}::text AS ${quoteIdent(col)}`).join(", ");
  const keyType = baseType(info.columns.get(s.map.subject.key)?.sqlType ?? "text");
  const res = await c.query<Record<string, string | null>>(
    `SELECT ${list} FROM ${qualified(s.spec.schema, s.map.subject.table)} WHERE ${quoteIdent(s.map.subject.key)} = $1::text::${keyType} FOR UPDATE`,
    [snapshot.identities.id],
  );
  return res.rows[0] ?? null;
}

/** The steps of a plan: one per table, its row count and the fields it changed. */
function stepOf(t: TableChange, rows: number): RightsStep {
  const erased = t.columns.every((c) => c.erase);
  return { table: t.table, action: erased ? "erased" : "rectified", rows, fields: [...new Set(t.columns.map((c) => c.field))] };
}

/**
 * Applies `changes` to the subject's rows in one transaction. `record` runs before COMMIT with
 * the steps and the transaction id. A subject row that is gone (erased meanwhile) changes nothing.
 */
export async function rectifyPostgres(s: RectifyStore, snapshot: SubjectSnapshot, changes: FieldChange[], record: RecordRectified): Promise<RectifyOutcome> {
  const plan = planFieldChanges(s.map, s.store, s.spec, s.schema, changes);
  const c = await s.pool.connect();
  try {
    const begun = (await c.query(`BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SELECT txid_current()::text AS xid`)) as unknown as Array<{
      rows: Array<{ xid: string }>;
    }>;
    const xid = begun[1]!.rows[0]!.xid;
    const old = await lockSubject(c, s, plan, snapshot);
    const steps: RightsStep[] = [];
    for (const t of plan) {
      const u = old ? updateOf(s, t, snapshot, old) : null;
      const rows = u ? ((await c.query(u.text, u.params)).rowCount ?? 0) : 0;
      steps.push(stepOf(t, rows));
    }
    await record(steps, xid);
    await c.query("COMMIT");
    return { state: "done", steps };
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** SQLSTATE classes of a value that does not fit its column (data exceptions, integrity violations). */
function problemOf(field: string, err: unknown): ValueProblem | null {
  const e = err as { code?: unknown; constraint?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const constraint = typeof e.constraint === "string" ? ` (${e.constraint})` : "";
  if (code === "23505") return { field, status: 409, message: `another record already holds this value${constraint}` };
  if (code === "23502") return { field, status: 400, message: "must not be empty: the column is NOT NULL" };
  if (code === "23514") return { field, status: 400, message: `does not satisfy a check constraint${constraint}` };
  if (code === "23503") return { field, status: 409, message: `other rows refer to the current value${constraint}` };
  if (code === "22001") return { field, status: 400, message: "is too long for its column" };
  if (code.startsWith("22") || code === "42804") return { field, status: 400, message: "is not a valid value for its column's type" };
  return null;
}

/**
 * Tries each change (with its copies) in a transaction that is always rolled back, one savepoint
 * per field: what the type, length, NOT NULL, CHECK, UNIQUE and foreign-key rules of every
 * column it lands in say. Waits at most 5 s for a locked row (then throws, retryable).
 */
export async function checkPostgresValues(s: RectifyStore, snapshot: SubjectSnapshot, changes: FieldChange[]): Promise<ValueProblem[]> {
  const plan = planFieldChanges(s.map, s.store, s.spec, s.schema, changes);
  const c = await s.pool.connect();
  const problems: ValueProblem[] = [];
  try {
    await c.query(`BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '30s'`);
    await c.query(`SET CONSTRAINTS ALL IMMEDIATE`);
    const old = await lockSubject(c, s, plan, snapshot);
    if (!old) return [];
    for (const change of changes) {
      await c.query("SAVEPOINT lethe_check");
      try {
        for (const t of plan) {
          const u = updateOf(s, t, snapshot, old, new Set([change.field]));
          if (u) await c.query(u.text, u.params);
        }
        await c.query("RELEASE SAVEPOINT lethe_check");
      } catch (err) {
        const problem = problemOf(change.field, err);
        if (!problem) throw err;
        problems.push(problem);
        await c.query("ROLLBACK TO SAVEPOINT lethe_check");
      }
    }
    return problems;
  } finally {
    await c.query("ROLLBACK").catch(() => undefined);
    c.release();
  }
}
