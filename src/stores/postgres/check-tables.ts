import type { AddProblem } from "./check-rules";
import type { SchemaInfo } from "./introspect";
import { maskMisfit } from "./masking";
import { isKeyColumn, looksPersonal } from "./personal";
import { isOthersTable, type PostgresStoreSpec } from "./schema";

/**
 * The declarations of one postgres store against its live schema, table by table: declared,
 * ignored and `notLinks` names exist and are not partitions; fields exist, are decided and their
 * masks fit; `via` columns exist; personal-looking columns are declared. `at` is `stores.<name>`.
 */
export function checkTables(at: string, store: PostgresStoreSpec, schema: SchemaInfo, add: AddProblem): void {
  const exists = (where: string, table: string, what: string): boolean => {
    const parent = schema.parents.get(table);
    if (parent !== undefined) {
      add(
        where,
        "partition-listed",
        `${what} "${table}" is a partition (or inheritance child) of "${parent}"; declare the parent "${parent}" only: it covers every partition, present and future`,
      );
      return false;
    }
    if (!schema.tables.has(table)) {
      add(where, "missing-table", `${what} "${schema.schema}.${table}" does not exist${what === "ignored table" ? "; remove it from ignore" : ""}`);
      return false;
    }
    return true;
  };
  for (const table of Object.keys(store.tables)) exists(`${at}.tables.${table}`, table, "table");
  for (const table of Object.keys(store.ignore)) exists(`${at}.ignore.${table}`, table, "ignored table");
  for (const key of Object.keys(store.notLinks)) {
    const [table, column] = key.split(".") as [string, string];
    if (exists(`${at}.notLinks.${key}`, table, "table") && !schema.tables.get(table)!.columns.has(column)) {
      add(`${at}.notLinks.${key}`, "missing-column", `column "${key}" does not exist; remove it from notLinks`);
    }
  }

  for (const [table, spec] of Object.entries(store.tables)) {
    const info = schema.tables.get(table);
    if (!info) continue;
    const tableAt = `${at}.tables.${table}`;
    for (const [column, field] of Object.entries(spec.fields)) {
      const col = info.columns.get(column);
      if ("todo" in field) {
        add(`${tableAt}.fields.${column}`, "undecided-personal-column", `column "${table}.${column}" is undecided, todo: ${field.todo}`);
      }
      if (!col) {
        add(`${tableAt}.fields.${column}`, "missing-column", `column "${table}.${column}" does not exist`);
        continue;
      }
      if ("category" in field && field.mask && !isOthersTable(spec)) {
        const misfit = maskMisfit(field.mask, col);
        if (misfit) add(`${tableAt}.fields.${column}.mask`, "mask-misfit", `column "${table}.${column}": ${misfit}`);
      }
    }
    // Other people's tables are never changed or exported: their columns need no decision.
    if (!isOthersTable(spec)) {
      for (const col of info.columns.values()) {
        if (spec.fields[col.name] || isKeyColumn(schema, info, col.name)) continue;
        const hint = looksPersonal(col);
        if (hint) {
          add(
            `${tableAt}.fields.${col.name}`,
            "undecided-personal-column",
            `column "${table}.${col.name}" looks personal (${hint.reason}) but is not declared; declare it with a category and mask (e.g. "${hint.category}", "${hint.mask}"), or {"personal": false}`,
          );
        }
      }
    }
    spec.via.forEach((via, i) => {
      if (!info.columns.has(via.column)) add(`${tableAt}.via.${i}.column`, "missing-column", `via column "${table}.${via.column}" does not exist`);
      const target = schema.tables.get(via.references.table);
      if (target && !target.columns.has(via.references.column)) {
        add(`${tableAt}.via.${i}.references.column`, "missing-column", `via target column "${via.references.table}.${via.references.column}" does not exist`);
      }
    });
  }
}

/**
 * Partitioned tables whose partitions declare different foreign keys (a warning: an FK declared
 * on any partition counts for the whole table, so erasure still reaches every partition; the
 * schema should say so on the parent).
 */
export function checkPartitionConstraints(at: string, schema: SchemaInfo, add: AddProblem): void {
  for (const fk of schema.foreignKeys) {
    const info = schema.tables.get(fk.from.table);
    if (!info || info.children.length === 0 || fk.declaredOn.includes(fk.from.table)) continue;
    const hasChildren = new Set(schema.directParents.values());
    const covered = (t: string | undefined): boolean =>
      t !== undefined && t !== fk.from.table && (fk.declaredOn.includes(t) || covered(schema.directParents.get(t)));
    const missing = info.children.filter((c) => !hasChildren.has(c) && !covered(c));
    if (missing.length === 0) continue;
    add(
      `${at}.tables.${fk.from.table}`,
      "partition-constraints-differ",
      `partitions of "${fk.from.table}" declare different foreign keys: ${fk.from.table}(${fk.from.columns.join(", ")}) → ${fk.to.table} is declared on ${fk.declaredOn.join(", ")} but not on ${missing.join(", ")}; Lethe treats it as the whole table's link (every partition, present and future), so declare it on the parent`,
      "warning",
    );
  }
}
