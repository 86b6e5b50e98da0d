import type { Mask } from "./schema";
import { maskSql } from "./masking";
import type { PlannedTable } from "./store-plan";

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
