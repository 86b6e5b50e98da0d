import type { DataMap } from "../datamap/schema";
import type { Mask, PostgresStoreSpec, TableSpec } from "../stores/postgres/schema";
import type { RetentionPolicy } from "../datamap/retention-policy";
import type { SchemaInfo, TableInfo } from "../stores/postgres/introspect";
import { planDeleteCascade } from "./delete-cascade";
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
  checkColumns(policy, info, add);
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
  } else {
    for (const b of planDeleteCascade(store, schema, policy.table).blockers) {
      add(".action", "retention-unsafe-delete", `deleting rows of "${policy.table}" would fail: ${b.reason}`);
    }
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

function checkColumns(policy: RetentionPolicy, info: TableInfo, add: (key: string, rule: RetentionRule, message: string) => void): void {
  const age = info.columns.get(policy.age.column);
  if (!age) {
    add(".age.column", "missing-column", `column "${policy.table}.${policy.age.column}" does not exist`);
  } else if (age.family !== "date" && age.family !== "timestamp") {
    add(
      ".age.column",
      "retention-age-not-temporal",
      `column "${policy.table}.${policy.age.column}" is ${age.sqlType}; the age condition needs a date or timestamp column`,
    );
  }
  policy.where.forEach((cond, i) => {
    if (!info.columns.has(cond.column)) add(`.where.${i}.column`, "missing-column", `column "${policy.table}.${cond.column}" does not exist`);
  });
}
