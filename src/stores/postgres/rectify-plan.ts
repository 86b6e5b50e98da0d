import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { FieldChange } from "../rights-side";
import { linksOf, type Link } from "./graph";
import type { ColumnInfo, SchemaInfo } from "./introspect";
import { mirrorsOf, postgresSubjectFields, shortFieldName } from "./rights-fields";
import { isOthersTable, type Mask, type PostgresStoreSpec } from "./schema";

/**
 * Where a rectification (or an erasure of fields) lands in a Postgres store: the subject table's
 * columns, the columns the map declares as their copies (`mirrors`), the `via` columns that hold
 * a changed column's value (they would stop linking otherwise), and, for an erasure of fields,
 * columns of tables linked directly to the subject table. Rows outside the subject table are the
 * subject's rows only: those whose link to the subject table holds the subject row's values.
 */

/** One column to set. */
export interface ColumnChange {
  column: ColumnInfo;
  /** The data-map field this change comes from (what steps and messages name). */
  field: string;
  /** The new value (text or NULL); ignored when `mask` is set. */
  value: string | null;
  /** Erase: the declared mask, or `null` for NULL. */
  erase: { mask: Mask | null } | null;
}

/** The changes of one table. */
export interface TableChange {
  table: string;
  /** Links from this table to the subject table (empty for the subject table itself): a row is the subject's when any link matches. */
  links: Link[];
  columns: ColumnChange[];
}

/** A Postgres type without its modifier (`character varying(60)` → `character varying`), for casts that must not truncate. */
export function baseType(sqlType: string): string {
  return sqlType.replace(/\(\s*\d+(\s*,\s*\d+)?\s*\)/g, "");
}

/**
 * The changes per table, subject table last (a copy is found by the subject row's values before
 * they change). Permanent errors name the field and the data map key to fix.
 */
export function planFieldChanges(map: DataMap, store: string, spec: PostgresStoreSpec, schema: SchemaInfo, changes: FieldChange[]): TableChange[] {
  const subjectTable = map.subject.table;
  const fields = new Map(postgresSubjectFields(map, store, spec).map((f) => [f.name, f]));
  const links = linksOf(schema, spec, map.subject);
  const byTable = new Map<string, TableChange>();
  const add = (table: string, column: string, change: FieldChange): void => {
    const info = schema.tables.get(table)?.columns.get(column);
    if (!info)
      throw new PermanentError(ERROR_CODES.dataMapInvalid, `stores.${store}.tables.${table}.fields.${column}: column does not exist (run lethe check)`);
    let t = byTable.get(table);
    if (!t) {
      const direct = table === subjectTable ? [] : links.filter((l) => l.from.table === table && l.to.table === subjectTable);
      if (table !== subjectTable && direct.length === 0) {
        throw new PermanentError(
          ERROR_CODES.dataMapInvalid,
          `field "${change.field}": table "${table}" has no direct link (foreign key or via) to the subject table "${subjectTable}", so its rows of the subject cannot be told apart`,
        );
      }
      t = { table, links: direct, columns: [] };
      byTable.set(table, t);
    }
    if (t.columns.some((c) => c.column.name === column)) return;
    const declared = spec.tables[table]?.fields[column];
    const mask = declared && "category" in declared ? (declared.mask ?? null) : null;
    t.columns.push({ column: info, field: change.field, value: change.erase ? null : change.value, erase: change.erase ? { mask } : null });
  };
  for (const change of changes) {
    const name = shortFieldName(subjectTable, change.field);
    const field = fields.get(name);
    if (!field) throw new PermanentError(ERROR_CODES.dataMapInvalid, `field "${change.field}" is not a personal field of the subject in store "${store}"`);
    add(field.table, field.column, change);
    if (!field.onSubjectTable) continue;
    for (const m of mirrorsOf(map, spec, name)) add(m.table, m.column, change);
    // A `via` column holding this column's value is a copy too: left alone, it would stop linking the subject's rows.
    for (const l of links) {
      if (l.kind !== "via" || l.to.table !== subjectTable || l.to.columns[0] !== field.column) continue;
      const t = spec.tables[l.from.table];
      if (t && !isOthersTable(t)) add(l.from.table, l.from.columns[0]!, change);
    }
  }
  const subject = byTable.get(subjectTable);
  return [...[...byTable.values()].filter((t) => t.table !== subjectTable), ...(subject ? [subject] : [])];
}

/** The subject-table columns the links of `changes` compare with (read before anything changes). */
export function linkedSubjectColumns(changes: TableChange[]): string[] {
  return [...new Set(changes.flatMap((t) => t.links.flatMap((l) => l.to.columns)))];
}
