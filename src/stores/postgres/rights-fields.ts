import type { DataMap } from "../../datamap/schema";
import type { FieldRef, SubjectField } from "../rights-side";
import { isOthersTable, type PostgresStoreSpec } from "./schema";

/**
 * The subject's fields as a Postgres store declares them, for the other rights: which columns a
 * rectification may name (the subject table's personal columns), which columns are their copies
 * (`mirrors`), and which columns of other tables an erasure of fields may name.
 */

/** `customers.email` → `email` when `customers` is the subject table; other names unchanged. */
export function shortFieldName(subjectTable: string, name: string): string {
  return name.startsWith(`${subjectTable}.`) ? name.slice(subjectTable.length + 1) : name;
}

/**
 * The subject's personal fields of the subject store: every personal column of a declared table
 * holding the subject's own rows (not `owner: "others"`), except the subject key. Other stores: none.
 */
export function postgresSubjectFields(map: DataMap, store: string, spec: PostgresStoreSpec): SubjectField[] {
  if (map.subject.store !== store) return [];
  const out: SubjectField[] = [];
  for (const [table, t] of Object.entries(spec.tables)) {
    if (isOthersTable(t)) continue;
    const onSubjectTable = table === map.subject.table;
    for (const [column, field] of Object.entries(t.fields)) {
      if (!("category" in field)) continue;
      if (onSubjectTable && column === map.subject.key) continue;
      out.push({ name: onSubjectTable ? column : `${table}.${column}`, table, column, onSubjectTable });
    }
  }
  return out;
}

/** The `mirrors` declarations of a store, with their key paths (checked against the subject's fields). */
export function postgresFieldRefs(spec: PostgresStoreSpec): FieldRef[] {
  const refs: FieldRef[] = [];
  for (const [table, t] of Object.entries(spec.tables)) {
    for (const [column, field] of Object.entries(t.fields)) {
      if ("category" in field && field.mirrors !== undefined) refs.push({ path: ["tables", table, "fields", column, "mirrors"], field: field.mirrors });
    }
  }
  return refs;
}

/** The declared copies of subject-table field `field` (short name): `{table, column}` in tables of the subject's own rows. */
export function mirrorsOf(map: DataMap, spec: PostgresStoreSpec, field: string): Array<{ table: string; column: string }> {
  const out: Array<{ table: string; column: string }> = [];
  for (const [table, t] of Object.entries(spec.tables)) {
    if (isOthersTable(t) || table === map.subject.table) continue;
    for (const [column, f] of Object.entries(t.fields)) {
      if ("category" in f && f.mirrors !== undefined && shortFieldName(map.subject.table, f.mirrors) === field) out.push({ table, column });
    }
  }
  return out;
}
