import { maskSql, type MaskKey } from "../stores/postgres/masking";
import { qualified, quoteIdent } from "../stores/postgres/ident";
import { matchedColumnSql } from "../stores/postgres/identity-sql";
import type { AgeTerm } from "./age";
import { heldSql } from "./hold-path";
import type { SweepPlan } from "./sweep-plan";

/**
 * The SQL of one sweep batch. A batch is a primary-key range `(lo, hi]` found by a cheap keyset
 * query, so every statement is a set-based `UPDATE`/`DELETE … WHERE pk > lo AND pk <= hi AND
 * <conditions>` — no id lists. Values (bounds, cutoff, condition values, keys, hold hashes) are
 * always parameters; identifiers come from the plan.
 */

/** The swept table's alias in every statement. */
export const ALIAS = "t";

/** Numbered parameters of one statement. */
export class Params {
  readonly values: unknown[] = [];
  /** Adds a value; returns its placeholder (`$n`), cast to `type` when given. */
  add(value: unknown, type?: string): string {
    this.values.push(value);
    return type ? `$${this.values.length}::${type}` : `$${this.values.length}`;
  }
}

/** What a batch's statements are parameterised with. */
export interface BatchInput {
  /** Rows with an age column before this instant are due (text, full precision). */
  cutoff: string;
  /** Last key of the previous batch (text per PK column), or null at the start. */
  lo: string[] | null;
  /** Last key of this batch, or null for "to the end of the table". */
  hi: string[] | null;
  /** Keyed hashes of subjects under an active legal hold (empty: no hold check at all). */
  holds: string[];
  /** Key of the masks that hash (random per run). */
  maskKey: MaskKey;
  /** The HMAC key of subject hashes, as pads. */
  holdKey: MaskKey;
}

/** The WHERE parts of a batch for alias {@link ALIAS}; `held` is null when no hold is active. */
export interface BatchWhere {
  range: string;
  due: string;
  /** `anonymize`: the row still has an unmasked field; `delete`: TRUE. */
  unmasked: string;
  held: string | null;
  /** Placeholders of the mask key (they appear in `unmasked`), for the SET list; null when nothing is masked. */
  pads: { ipad: string; opad: string } | null;
}

const col = (name: string) => `${ALIAS}.${quoteIdent(name)}`;

/** `(t.a, t.b) <op> ($1::ta, $2::tb)`, or the single-column form. */
function keyCompare(plan: SweepPlan, p: Params, op: ">" | "<=", key: string[]): string {
  const lhs = plan.pk.map((c) => col(c.name));
  const rhs = plan.pk.map((c, i) => p.add(key[i], c.sqlType));
  return lhs.length === 1 ? `${lhs[0]} ${op} ${rhs[0]}` : `(${lhs.join(", ")}) ${op} (${rhs.join(", ")})`;
}

/** The primary-key range `(lo, hi]`. */
export function rangeSql(plan: SweepPlan, p: Params, lo: string[] | null, hi: string[] | null): string {
  const parts: string[] = [];
  if (lo) parts.push(keyCompare(plan, p, ">", lo));
  if (hi) parts.push(keyCompare(plan, p, "<=", hi));
  return parts.length === 0 ? "TRUE" : parts.join(" AND ");
}

/** SQL of one age source for the row of alias {@link ALIAS}. */
export function ageTermSql(plan: SweepPlan, term: AgeTerm): string {
  if (term.kind === "column") return col(term.column.name);
  const a = "g";
  const eq = term.linkedColumns.map((c, i) => {
    const swept = term.sweptColumns[i]!;
    return term.linkedColumns.length === 1
      ? `${matchedColumnSql(`${a}.${quoteIdent(c)}`, term.link.match)} = ${matchedColumnSql(col(swept), term.link.match)}`
      : `${a}.${quoteIdent(c)} = ${col(swept)}`;
  });
  return `(SELECT ${term.fn}(${a}.${quoteIdent(term.column.name)}) FROM ${qualified(plan.schemaName, term.table)} ${a} WHERE ${eq.join(" AND ")})`;
}

/** The row's age: one source, or the greatest of several (NULLs ignored). */
export function ageSql(plan: SweepPlan): string {
  if (plan.age.length === 1) return ageTermSql(plan, plan.age[0]!);
  return `GREATEST(${plan.age.map((t) => `(${ageTermSql(plan, t)})::timestamptz`).join(", ")})`;
}

/** Age condition and extra conditions. */
export function dueSql(plan: SweepPlan, p: Params, cutoff: string): string {
  const age = ageSql(plan);
  const before = `${age} < ${p.add(cutoff, "timestamptz")}`;
  const parts = [plan.missingDue ? `(${before} OR ${age} IS NULL)` : before];
  for (const { condition: c, column } of plan.where) {
    const name = col(column.name);
    switch (c.op) {
      case "=":
      case "<>":
      case "<":
      case "<=":
      case ">":
      case ">=":
        parts.push(`${name} ${c.op} ${p.add(String(c.value), column.sqlType)}`);
        break;
      case "in":
        parts.push(`${name} = ANY(${p.add(c.value.map(String), `${column.sqlType}[]`)})`);
        break;
      case "is null":
        parts.push(`${name} IS NULL`);
        break;
      case "is not null":
        parts.push(`${name} IS NOT NULL`);
        break;
    }
  }
  return parts.join(" AND ");
}

/** The WHERE parts of one batch. */
export function batchWhere(plan: SweepPlan, p: Params, input: BatchInput): BatchWhere {
  const range = rangeSql(plan, p, input.lo, input.hi);
  const due = dueSql(plan, p, input.cutoff);
  let unmasked = "TRUE";
  let pads: BatchWhere["pads"] = null;
  if (plan.masks.length > 0) {
    pads = { ipad: p.add(input.maskKey.ipad, "bytea"), opad: p.add(input.maskKey.opad, "bytea") };
    // The key placeholders are typed and used here even when no mask of the table hashes.
    const masked = plan.masks.map((m) => maskSql(m.mask, m.column, pads!.ipad, pads!.opad).isMasked).join(" AND ");
    unmasked = `(${pads.ipad} IS NOT NULL AND ${pads.opad} IS NOT NULL AND NOT (${masked}))`;
  }
  let held: string | null = null;
  if (input.holds.length > 0) {
    const ipad = p.add(input.holdKey.ipad, "bytea");
    const opad = p.add(input.holdKey.opad, "bytea");
    const hashes = p.add(input.holds, "text[]");
    const hashed = (key: string) =>
      `coalesce(encode(sha256(${opad} || sha256(${ipad} || convert_to('id:' || (${key})::text, 'UTF8'))), 'hex') = ANY(${hashes}), false)`;
    held = heldSql(plan.holdPath, plan.subjectKey, plan.schemaName, ALIAS, hashed);
  }
  return { range, due, unmasked, held, pads };
}

/**
 * The keyset query: the key of the `size`-th due row after `lo` (null when fewer remain), so a
 * batch holds `size` due rows however sparse they are (the batch's work, what its time depends
 * on). `cutoff` as in {@link BatchInput}.
 */
export function boundSql(plan: SweepPlan, lo: string[] | null, cutoff: string, size = plan.policy.batchSize): { sql: string; params: unknown[] } {
  const p = new Params();
  const range = rangeSql(plan, p, lo, null);
  const due = dueSql(plan, p, cutoff);
  const keys = plan.pk.map((c, i) => `${col(c.name)}::text AS k${i}`).join(", ");
  const order = plan.pk.map((c) => col(c.name)).join(", ");
  const offset = p.add(size - 1, "bigint");
  return { sql: `SELECT ${keys} FROM ${plan.target} ${ALIAS} WHERE ${range} AND ${due} ORDER BY ${order} LIMIT 1 OFFSET ${offset}`, params: p.values };
}

/** Whether any due row lies after `lo` (the last, partial batch may be empty). */
export function anyAfterSql(plan: SweepPlan, lo: string[] | null, cutoff: string): { sql: string; params: unknown[] } {
  const p = new Params();
  const range = rangeSql(plan, p, lo, null);
  return { sql: `SELECT 1 FROM ${plan.target} ${ALIAS} WHERE ${range} AND ${dueSql(plan, p, cutoff)} LIMIT 1`, params: p.values };
}

/** `SET` list of an anonymizing UPDATE: each masked column masked unless it already is. `pads` from {@link batchWhere}. */
export function maskSetSql(plan: SweepPlan, pads: { ipad: string; opad: string }): string {
  const { ipad, opad } = pads;
  return plan.masks
    .map((m) => {
      const sql = maskSql(m.mask, m.column, ipad, opad);
      const c = quoteIdent(m.column.name);
      return `${c} = CASE WHEN ${sql.isMasked} THEN ${c} ELSE ${sql.value} END`;
    })
    .join(", ");
}

/**
 * `<columns of alias> IN <tuples>`: the rows of a linked table whose link columns hold one of the
 * parent rows' values (text arrays, one per column, cast to the columns' types), by the link's
 * match rule. A semi-join against the batch's prepared id set: an index on the link column serves
 * it, and without one Postgres hashes the set and scans the table once.
 */
export function inTuplesSql(
  alias: string,
  columns: Array<{ name: string; sqlType: string }>,
  p: Params,
  tuples: string[][],
  match: "exact" | "normalized",
): string {
  if (columns.length === 1) {
    const c = columns[0]!;
    const values = p.add(
      tuples.map((t) => t[0]!),
      "text[]",
    );
    if (match === "normalized") return `${matchedColumnSql(`${alias}.${quoteIdent(c.name)}`, match)} IN (SELECT lower(btrim(v)) FROM unnest(${values}) AS v)`;
    return `${alias}.${quoteIdent(c.name)} IN (SELECT unnest(${values}::${c.sqlType}[]))`;
  }
  const lhs = columns.map((c) => `${alias}.${quoteIdent(c.name)}`).join(", ");
  const arrays = columns
    .map(
      (c, i) =>
        `${p.add(
          tuples.map((t) => t[i]!),
          "text[]",
        )}::${c.sqlType}[]`,
    )
    .join(", ");
  return `(${lhs}) IN (SELECT * FROM unnest(${arrays}))`;
}
