import { contactColumns } from "../../subject/contact";
import { identitySpecs, type IdentityDeclaration } from "../../subject/identity-match";
import type { SchemaInfo, TableInfo } from "./introspect";
import { isOthersTable, type PostgresStoreSpec } from "./schema";

/**
 * Columns that look like a link but are none: a reference to a mapped table without a foreign
 * key (`customer_id`, `<table>_id`, `<table>Id`), or a column holding the subject's identity
 * values (an email column whose sampled values overlap the subject table's). Each must be a
 * `via` link or dismissed in `notLinks`; `lethe init` drafts the `via` for each.
 */

/** A column that looks like a link, and what it looks like a link to. */
export interface ReferenceColumn {
  table: string;
  column: string;
  /** The table and column it would reference. */
  references: { table: string; column: string };
  /** Why it looks like a reference: by name, or by its values (identity overlap). */
  by: "name" | "values";
  /** For `by: "values"`: the identity (or `contact`) whose values it holds. */
  identity?: string;
}

/** The subject as this module reads it. */
export interface ReferenceSubject {
  store: string;
  table: string;
  key: string;
  identities: Readonly<Record<string, IdentityDeclaration>>;
  contact?: { email: string; locale?: string | undefined; country?: string | undefined } | undefined;
}

/** Singular and plural spellings of a table name, lower-case, without underscores (naive English). */
function nameForms(table: string): Set<string> {
  const t = table.toLowerCase().replace(/_/g, "");
  const forms = new Set([t]);
  if (t.endsWith("ies")) forms.add(`${t.slice(0, -3)}y`);
  else if (/(ss|x|ch|sh)es$/.test(t)) forms.add(t.slice(0, -2));
  else if (t.endsWith("s") && !t.endsWith("ss")) forms.add(t.slice(0, -1));
  if (t.endsWith("y")) forms.add(`${t.slice(0, -1)}ies`);
  else if (/(ss|x|ch|sh)$/.test(t)) forms.add(`${t}es`);
  else if (!t.endsWith("s")) forms.add(`${t}s`);
  return forms;
}

/** Column names (lower-case, no underscores) that would name a reference to `table`'s key `key`. */
function referenceNames(table: string, key: string): Set<string> {
  const names = new Set<string>();
  const k = key.toLowerCase().replace(/_/g, "");
  if (k !== "id") names.add(k);
  for (const form of nameForms(table)) names.add(`${form}id`);
  return names;
}

/** The single-column key other tables would reference: the subject key for the subject table, else the primary key. */
function keyOf(info: TableInfo, subject: ReferenceSubject, table: string): string | null {
  if (table === subject.table) return subject.key;
  return info.primaryKey.length === 1 ? info.primaryKey[0]! : null;
}

/** True when `column` of `table` is already the referencing side of a foreign key. */
function hasForeignKey(schema: SchemaInfo, table: string, column: string): boolean {
  return schema.foreignKeys.some((fk) => fk.from.table === table && fk.from.columns.includes(column));
}

/** True when the column is already declared a `via` link or dismissed in `notLinks`. */
export function isDeclaredLink(store: Pick<PostgresStoreSpec, "tables" | "notLinks">, table: string, column: string): boolean {
  if (store.notLinks[`${table}.${column}`] !== undefined) return true;
  return store.tables[table]?.via.some((v) => v.column === column) ?? false;
}

/**
 * Reference-looking columns by name, in every table of the schema (declared or not): columns
 * named after a mapped table's key (`customer_id`, `customerId`, or the key's own name such as
 * `customer_id` when that is the key) of a compatible type, with no foreign key, referencing one of
 * `targetTables` ({@link referenceTargets}). Declared links and dismissed columns are included;
 * callers filter with {@link isDeclaredLink}.
 */
export function referencesByName(schema: SchemaInfo, targetTables: Iterable<string>, subject: ReferenceSubject): ReferenceColumn[] {
  const targets: Array<{ table: string; key: string; family: string; names: Set<string> }> = [];
  for (const table of new Set(targetTables)) {
    const info = schema.tables.get(table);
    if (!info) continue;
    const key = keyOf(info, subject, table);
    const keyCol = key ? info.columns.get(key) : undefined;
    if (!key || !keyCol) continue;
    targets.push({ table, key, family: keyCol.family, names: referenceNames(table, key) });
  }
  const found: ReferenceColumn[] = [];
  for (const info of schema.tables.values()) {
    for (const col of info.columns.values()) {
      const name = col.name.toLowerCase().replace(/_/g, "");
      for (const target of targets) {
        if (target.table === info.name || !target.names.has(name)) continue;
        if (col.family !== target.family && col.family !== "text") continue;
        if (hasForeignKey(schema, info.name, col.name)) continue;
        found.push({ table: info.name, column: col.name, references: { table: target.table, column: target.key }, by: "name" });
        break;
      }
    }
  }
  return found;
}

/** The tables a reference may point at: the subject table (in its store) and the declared tables holding the subject's data. */
export function referenceTargets(store: Pick<PostgresStoreSpec, "tables">, subject: ReferenceSubject, storeName: string): string[] {
  const targets = Object.keys(store.tables).filter((t) => !isOthersTable(store.tables[t]));
  if (subject.store === storeName) targets.push(subject.table);
  return targets;
}

/** Text columns of the schema that may hold identity values: candidates for {@link referencesByValues}. */
export function identityCandidates(schema: SchemaInfo, subject: ReferenceSubject): Array<{ table: string; column: string; namedLikeEmail: boolean }> {
  const out: Array<{ table: string; column: string; namedLikeEmail: boolean }> = [];
  for (const info of schema.tables.values()) {
    if (info.name === subject.table) continue;
    for (const col of info.columns.values()) {
      if (col.family !== "text" || hasForeignKey(schema, info.name, col.name)) continue;
      out.push({ table: info.name, column: col.name, namedLikeEmail: /e_?mail/i.test(col.name) });
    }
  }
  return out;
}

/** The subject table's text columns whose values identify the subject: identities and the contact email, by name. */
export function identityColumns(schema: SchemaInfo, subject: ReferenceSubject): Array<{ name: string; column: string }> {
  const info = schema.tables.get(subject.table);
  if (!info) return [];
  const out = new Map<string, string>();
  for (const i of identitySpecs(subject)) if (info.columns.get(i.column)?.family === "text") out.set(i.column, i.name);
  const contact = contactColumns({ subject }).email;
  if (contact && info.columns.get(contact)?.family === "text" && !out.has(contact)) out.set(contact, "contact");
  return [...out].map(([column, name]) => ({ name, column }));
}
