import type { DataMap } from "../datamap/schema";
import type { Mask, PostgresStoreSpec, TableSpec } from "../stores/postgres/schema";
import type { RetentionPolicy } from "../datamap/retention-policy";
import type { SchemaInfo, TableInfo } from "../stores/postgres/introspect";
import { ORDER_OPS, type Condition } from "../datamap/retention-policy";
import type { ColumnInfo } from "../stores/postgres/introspect";
import { resolveAge } from "./age";
import { planCascade } from "./cascade";
import { holdPath } from "./hold-path";

/** Rule ids `lethe check` applies to retention policies (beside `missing-table` and `missing-column`). */
export const RETENTION_RULES = [
  "retention-undeclared-table",
  "retention-age-not-temporal",
  "retention-nothing-to-mask",
  "retention-unmasked-field",
  "retention-unsafe-delete",
  "retention-no-primary-key",
  "retention-hold-unresolvable",
  "retention-age-unlinked",
  "retention-where-type",
  "retention-linked-unmasked",
] as const;
/** One of {@link RETENTION_RULES}, or a general rule a policy can also break. */
export type RetentionRule = (typeof RETENTION_RULES)[number] | "missing-table" | "missing-column";

/** One reason a policy cannot run; `key` starts with `retention.<policy name>`. Same shape as a check problem. */
export interface RetentionProblem {
  key: string;
  rule: RetentionRule;
  message: string;
}

/** The masked and the unmasked personal fields of a table declaration. */
export function personalFields(spec: TableSpec): { masked: Array<{ column: string; mask: Mask }>; bare: string[] } {
  const masked: Array<{ column: string; mask: Mask }> = [];
  const bare: string[] = [];
  for (const [column, field] of Object.entries(spec.fields)) {
    if (!("category" in field)) continue;
    if (field.mask) masked.push({ column, mask: field.mask });
    else if (!field.retain) bare.push(column);
  }
  return { masked, bare };
}

/**
 * Checks the policies of store `storeName` against its introspected schema (pure, no I/O):
 * the table is declared and exists with a primary key, the columns exist, the age column is a
 * date or timestamp, an anonymize has masks for every personal field, a delete breaks no
 * foreign key the map does not cover, and held subjects' rows can be recognised.
 */
export function checkRetentionPolicies(map: DataMap, storeName: string, store: PostgresStoreSpec, schema: SchemaInfo): RetentionProblem[] {
  const problems: RetentionProblem[] = [];
  for (const policy of map.retention) {
    if (policy.store === storeName) problems.push(...checkPolicy(map, storeName, store, schema, policy));
  }
  return problems;
}

/** Problems of one policy (see {@link checkRetentionPolicies}). */
export function checkPolicy(map: DataMap, storeName: string, store: PostgresStoreSpec, schema: SchemaInfo, policy: RetentionPolicy): RetentionProblem[] {
  const problems: RetentionProblem[] = [];
  const at = `retention.${policy.name}`;
  const add = (key: string, rule: RetentionRule, message: string) => problems.push({ key: `${at}${key}`, rule, message });
  const spec = store.tables[policy.table];
  if (!spec) {
    add(
      ".table",
      "retention-undeclared-table",
      `table "${policy.table}" is not declared in stores.${storeName}.tables; declare it (with its personal fields) before a policy can sweep it`,
    );
    return problems;
  }
  const info = schema.tables.get(policy.table);
  if (!info) {
    add(".table", "missing-table", `table "${schema.schema}.${policy.table}" does not exist`);
    return problems;
  }
  if (info.primaryKey.length === 0) {
    add(".table", "retention-no-primary-key", `table "${policy.table}" has no primary key, so a sweep cannot walk it in resumable batches; add a primary key`);
  }
  for (const p of resolveAge(map, store, schema, policy.table, policy.age).problems) add(p.key, p.rule, p.message);
  checkWhere(policy, info, add);
  if (policy.action === "anonymize") {
    const { masked, bare } = personalFields(spec);
    if (masked.length === 0) {
      add(
        ".action",
        "retention-nothing-to-mask",
        `anonymize needs masked personal fields, but stores.${storeName}.tables.${policy.table} declares none; give its personal fields a mask, or use action "delete"`,
      );
    }
    for (const column of bare) {
      add(
        ".action",
        "retention-unmasked-field",
        `anonymize would leave personal field "${policy.table}.${column}" as it is; give it a mask, or "retain": true when the purpose still needs it`,
      );
    }
  }
  for (const p of planCascade(map, store, schema, policy).problems) {
    add(".action", p.rule, p.rule === "retention-unsafe-delete" ? `deleting rows of "${policy.table}" would fail: ${p.message}` : p.message);
  }
  if (!holdPath(map, storeName, schema, policy.table)) {
    const where =
      map.subject.store === storeName
        ? "no chain of foreign keys or via links among declared tables leads"
        : `store "${storeName}" is not the subject's store, so nothing leads`;
    add(
      ".table",
      "retention-hold-unresolvable",
      `rows of "${policy.table}" cannot be tied to a subject (${where} to "${map.subject.table}"), so legal holds could not be honoured; add a via link`,
    );
  }
  return problems;
}

/** Why `value` does not fit a column of this type for `op`, or null. */
function valueMisfit(cond: Condition, column: ColumnInfo): string | null {
  if (ORDER_OPS.includes(cond.op) && (column.family === "boolean" || column.family === "json" || column.family === "bytea")) {
    return `"${cond.op}" does not order ${column.sqlType} values`;
  }
  if (!("value" in cond)) return null;
  const values = Array.isArray(cond.value) ? cond.value : [cond.value];
  for (const v of values) {
    switch (column.family) {
      case "boolean":
        if (typeof v !== "boolean") return `column is boolean; compare it with true or false, not ${JSON.stringify(v)}`;
        break;
      case "number":
        if (typeof v === "boolean" || (typeof v === "string" && !/^-?\d+(\.\d+)?$/.test(v.trim())))
          return `column is ${column.sqlType}; ${JSON.stringify(v)} is not a number`;
        break;
      case "date":
      case "timestamp":
        if (typeof v !== "string" || Number.isNaN(Date.parse(v)))
          return `column is ${column.sqlType}; ${JSON.stringify(v)} is not an ISO 8601 date or timestamp`;
        break;
      case "uuid":
        if (typeof v !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))
          return `column is uuid; ${JSON.stringify(v)} is not one`;
        break;
      case "text":
        if (typeof v === "boolean") return `column is ${column.sqlType}; compare it with text, not a boolean`;
        break;
      default:
        if (cond.op !== "=" && cond.op !== "<>" && cond.op !== "in") return `"${cond.op}" cannot compare ${column.sqlType} values`;
    }
  }
  return null;
}

function checkWhere(policy: RetentionPolicy, info: TableInfo, add: (key: string, rule: RetentionRule, message: string) => void): void {
  policy.where.forEach((cond, i) => {
    const column = info.columns.get(cond.column);
    if (!column) {
      add(`.where.${i}.column`, "missing-column", `column "${policy.table}.${cond.column}" does not exist`);
      return;
    }
    const misfit = valueMisfit(cond, column);
    if (misfit) add(`.where.${i}`, "retention-where-type", `condition on "${policy.table}.${cond.column}": ${misfit}`);
  });
}
