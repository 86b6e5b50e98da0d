import type { ClientBase } from "pg";
import type { Mask } from "./schema";
import { qualified, quoteIdent } from "./ident";
import { ROW_ID_SQL, rowIdInSql } from "./row-id";
import type { TableDecision, Decisions } from "./decide";
import { maskSql, type MaskKey } from "./masking";
import type { PlannedTable, StorePlan } from "./store-plan";

/** The masked columns of a table: every personal field with a mask. */
export function maskedColumns(table: PlannedTable): Array<{ column: string; mask: Mask }> {
  const out: Array<{ column: string; mask: Mask }> = [];
  for (const [column, field] of Object.entries(table.spec.fields)) {
    if ("category" in field && field.mask) out.push({ column, mask: field.mask });
  }
  return out;
}

/** `NOT (all masked columns are already masked)`, or null when the table masks nothing. */
export function unmaskedSql(table: PlannedTable, ipad: string, opad: string): string | null {
  const masked = maskedColumns(table);
  if (masked.length === 0) return null;
  const all = masked.map((m) => maskSql(m.mask, table.info.columns.get(m.column)!, ipad, opad).isMasked).join(" AND ");
  // The key placeholders are typed here, even when no mask of this table hashes.
  return `(${ipad}::bytea IS NOT NULL AND ${opad}::bytea IS NOT NULL AND NOT (${all}))`;
}

const ctidsOf = (d: TableDecision) => d.rows.map((r) => r.ctid!);

/**
 * Applies the decisions in change order inside the caller's transaction: DELETE for deleted
 * tables; one UPDATE for anonymized and kept tables that masks what is not masked yet and sets
 * NULL the references to deleted rows. Returns rows changed per table.
 */
export async function applyDecisions(db: ClientBase, plan: StorePlan, decisions: Decisions, key: MaskKey): Promise<Map<string, number>> {
  const changed = new Map<string, number>();
  for (const d of decisions) {
    const table = plan.tables.get(d.table)!;
    const target = qualified(plan.schemaName, d.table);
    if (d.rows.length === 0) {
      changed.set(d.table, 0);
      continue;
    }
    if (table.spec.action === "delete") {
      const res = await db.query(`DELETE FROM ${target} WHERE ${rowIdInSql("$1")}`, [ctidsOf(d)]);
      changed.set(d.table, res.rowCount ?? 0);
      continue;
    }
    const params: unknown[] = [ctidsOf(d)];
    const masked = maskedColumns(table);
    if (masked.length > 0) params.push(key.ipad, key.opad);
    const sets: string[] = [];
    for (const m of masked) {
      const sql = maskSql(m.mask, table.info.columns.get(m.column)!, "$2", "$3");
      const c = quoteIdent(m.column);
      sets.push(`${c} = CASE WHEN ${sql.isMasked} THEN ${c} ELSE ${sql.value} END`);
    }
    const detachAll = new Set<string>();
    for (const [column, ctids] of d.detach) {
      params.push([...ctids]);
      ctids.forEach((c) => detachAll.add(c));
      const c = quoteIdent(column);
      sets.push(`${c} = CASE WHEN ${ROW_ID_SQL} = ANY($${params.length}::text[]) THEN NULL ELSE ${c} END`);
    }
    if (sets.length === 0) {
      changed.set(d.table, 0);
      continue;
    }
    const conditions: string[] = [];
    const unmasked = unmaskedSql(table, "$2", "$3");
    if (unmasked) conditions.push(unmasked);
    if (detachAll.size > 0) {
      params.push([...detachAll]);
      conditions.push(`${ROW_ID_SQL} = ANY($${params.length}::text[])`);
    }
    const res = await db.query(`UPDATE ${target} SET ${sets.join(", ")} WHERE ${rowIdInSql("$1")} AND (${conditions.join(" OR ")})`, params);
    changed.set(d.table, res.rowCount ?? 0);
  }
  return changed;
}

/** For a preview: rows each table's action would change (anonymize: rows not masked yet). */
export async function countChanges(db: ClientBase, plan: StorePlan, decisions: Decisions, key: MaskKey): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const d of decisions) {
    const table = plan.tables.get(d.table)!;
    const unmasked = unmaskedSql(table, "$2", "$3");
    if (table.spec.action !== "anonymize" || d.rows.length === 0 || !unmasked) {
      counts.set(d.table, table.spec.action === "anonymize" && !unmasked ? 0 : d.rows.length);
      continue;
    }
    const res = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${qualified(plan.schemaName, d.table)} WHERE ${rowIdInSql("$1")} AND ${unmasked}`,
      [ctidsOf(d), key.ipad, key.opad],
    );
    counts.set(d.table, Number(res.rows[0]!.n));
  }
  return counts;
}
