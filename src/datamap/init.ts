import { linksOf, reachableTables } from "../stores/postgres/graph";
import type { SchemaInfo, TableInfo } from "../stores/postgres/introspect";
import { looksPersonal } from "../stores/postgres/personal";
import type { PostgresStoreInput } from "../stores/postgres/schema";
import type { DataMapInput } from "./schema";

/** Reason written into `ignore` for a referenced table with nothing that looks personal. */
export const DRAFT_IGNORE_REASON = "draft: referenced table with no column that looks personal — confirm or declare";

/** The subject a draft starts from: its table and key column. */
export interface DraftSubject {
  table: string;
  column: string;
}

/** Where the drafted store lives and how the file names it. */
export interface DraftOptions {
  /** Data-map name of the store. (Default: `main`.) */
  store?: string;
  /** What the file's `url` says: a URL, or `${VAR}` so the secret stays in the environment. */
  url: string;
}

/** A drafted data map: its one store is a postgres store. */
export type DraftDataMap = DataMapInput & { stores: Record<string, PostgresStoreInput> };

/** A draft that cannot be made (unknown subject table or column). */
export class DraftError extends Error {
  override readonly name = "DraftError";
}

type DraftField = { todo: string } | { personal: false; note: string };
type DraftTable = { action: "delete" | "anonymize"; fields: Record<string, DraftField> };

function draftFields(info: TableInfo, keyColumns: ReadonlySet<string>): Record<string, DraftField> {
  const fields: Record<string, DraftField> = {};
  for (const col of info.columns.values()) {
    if (keyColumns.has(col.name)) {
      fields[col.name] = { personal: false, note: "key" };
      continue;
    }
    const hint = looksPersonal(col);
    if (hint)
      fields[col.name] = {
        todo: `${hint.reason} (suggested: category "${hint.category}", mask "${hint.mask}"); choose a category and mask, or {"personal": false}`,
      };
  }
  return fields;
}

/**
 * A draft data map from the live schema: every table the subject reaches by foreign keys. Owned
 * tables are deleted, referenced tables with personal-looking columns anonymized, the others
 * ignored. Personal-looking columns become `todo` entries, so `lethe check` refuses the draft
 * until a human decides each one.
 */
export function draftDataMap(schema: SchemaInfo, subject: DraftSubject, opts: DraftOptions): DraftDataMap {
  const storeName = opts.store ?? "main";
  const subjectInfo = schema.tables.get(subject.table);
  if (!subjectInfo) throw new DraftError(`subject table "${schema.schema}.${subject.table}" does not exist`);
  if (!subjectInfo.columns.has(subject.column)) throw new DraftError(`subject key column "${subject.table}.${subject.column}" does not exist`);

  const reached = reachableTables(
    subject.table,
    linksOf(schema, { kind: "postgres", url: opts.url, schema: schema.schema, tables: {}, ignore: {} }),
    () => false,
  );
  const tables: Record<string, DraftTable> = {};
  const ignore: Record<string, string> = {};
  for (const [name, reach] of [...reached].sort(([a], [b]) => (a === subject.table ? -1 : b === subject.table ? 1 : a.localeCompare(b)))) {
    const info = schema.tables.get(name);
    if (!info) continue;
    const keyColumns = new Set(schema.foreignKeys.filter((fk) => fk.from.table === name).flatMap((fk) => fk.from.columns));
    if (name === subject.table) keyColumns.add(subject.column);
    const hasPersonal = [...info.columns.values()].some((c) => !keyColumns.has(c.name) && looksPersonal(c) !== null);
    if (reach.owned) tables[name] = { action: "delete", fields: draftFields(info, keyColumns) };
    else if (hasPersonal) tables[name] = { action: "anonymize", fields: draftFields(info, keyColumns) };
    else ignore[name] = DRAFT_IGNORE_REASON;
  }

  const emails = [...subjectInfo.columns.values()].filter((c) => c.isUnique && c.name !== subject.column && looksPersonal(c)?.mask === "email");
  const identities: Record<string, string> = {};
  for (const col of emails) identities[emails.length === 1 ? "email" : col.name] = col.name;

  return {
    $schema: "./lethe.schema.json",
    version: 1,
    subject: { store: storeName, table: subject.table, key: subject.column, identities },
    stores: { [storeName]: { kind: "postgres", url: opts.url, schema: schema.schema, tables, ignore } },
  };
}

/** Parses `<table>.<column>` as given to `lethe init --subject`. */
export function parseSubjectArg(value: string): DraftSubject {
  const m = /^([A-Za-z_][A-Za-z0-9_$]*)\.([A-Za-z_][A-Za-z0-9_$]*)$/.exec(value);
  if (!m) throw new DraftError(`--subject must be <table>.<column>, e.g. customer.customer_id`);
  return { table: m[1]!, column: m[2]! };
}
