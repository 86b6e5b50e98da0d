import { linksOf, reachableTables, type Reach } from "../stores/postgres/graph";
import type { SchemaInfo, TableInfo } from "../stores/postgres/introspect";
import { isKeyColumn, isPeopleLike, looksPersonal } from "../stores/postgres/personal";
import { referencesByName, type ReferenceColumn } from "../stores/postgres/reference-columns";
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
  /** Columns a sample found holding the subject's identity values (`identity-overlap`); drafted as `via` links. */
  valueReferences?: readonly ReferenceColumn[];
}

/** A drafted data map: its one store is a postgres store. */
export type DraftDataMap = DataMapInput & { stores: Record<string, PostgresStoreInput> };

/** A draft that cannot be made (unknown subject table or column). */
export class DraftError extends Error {
  override readonly name = "DraftError";
}

type DraftField = { todo: string } | { personal: false; note: string };
type DraftVia = { column: string; references: { table: string; column: string }; match?: "normalized" };
type DraftTable =
  | { action: "delete" | "anonymize"; owner?: "subject"; reason?: string; fields: Record<string, DraftField>; via?: DraftVia[] }
  | { owner: "others"; reason: string };

/** The subject part of a draft. */
export type DraftSubjectSpec = DraftDataMap["subject"] & { identities: Record<string, string> };

/** The subject part of a draft: the key, unique email columns as identities, and the contact columns. */
export function draftSubjectOf(schema: SchemaInfo, subject: DraftSubject, store = "main"): DraftSubjectSpec {
  const info = schema.tables.get(subject.table);
  if (!info) throw new DraftError(`subject table "${schema.schema}.${subject.table}" does not exist`);
  if (!info.columns.has(subject.column)) throw new DraftError(`subject key column "${subject.table}.${subject.column}" does not exist`);
  const emails = [...info.columns.values()].filter((c) => c.name !== subject.column && c.family === "text" && looksPersonal(c)?.mask === "email");
  const unique = emails.filter((c) => c.isUnique || c.isUniqueNormalized);
  const identities: Record<string, string> = {};
  for (const col of unique) identities[unique.length === 1 ? "email" : col.name] = col.name;
  const contactEmail = unique[0] ?? emails.find((c) => /^e_?mail$/i.test(c.name)) ?? emails[0];
  const text = (pattern: RegExp) => [...info.columns.values()].find((c) => c.family === "text" && pattern.test(c.name))?.name;
  const locale = text(/^(locale|lang|language|preferred_lang(uage)?)$/i);
  const country = text(/^(country|country_code)$/i);
  return {
    store,
    table: subject.table,
    key: subject.column,
    identities,
    ...(contactEmail ? { contact: { email: contactEmail.name, ...(locale ? { locale } : {}), ...(country ? { country } : {}) } } : {}),
  };
}

/** Todo text of a personal-looking column, in words. */
function todoOf(hint: NonNullable<ReturnType<typeof looksPersonal>>): string {
  return `${hint.reason}; decide: give it a category and a mask (suggested: category "${hint.category}", mask "${hint.mask}"), or {"personal": false}`;
}

function draftFields(schema: SchemaInfo, info: TableInfo, keys: ReadonlySet<string>): Record<string, DraftField> {
  const fields: Record<string, DraftField> = {};
  for (const col of info.columns.values()) {
    if (keys.has(col.name)) fields[col.name] = { personal: false, note: "key" };
    else if (!isKeyColumn(schema, info, col.name)) {
      const hint = looksPersonal(col);
      if (hint) fields[col.name] = { todo: todoOf(hint) };
    }
  }
  return fields;
}

/** Personal-looking non-key columns of a table. */
function personalColumns(schema: SchemaInfo, info: TableInfo): string[] {
  return [...info.columns.values()].filter((c) => !isKeyColumn(schema, info, c.name) && looksPersonal(c) !== null).map((c) => c.name);
}

/** A lookup table: every personal-looking column is its label (`name`, `title`, or named after the table, e.g. `city.city`). */
function isLookup(schema: SchemaInfo, info: TableInfo): boolean {
  const forms = new Set([info.name, info.name.replace(/ies$/, "y"), info.name.replace(/s$/, "")]);
  return personalColumns(schema, info).every((c) => /^(name|title|label|description)$/.test(c) || forms.has(c));
}

/** How one reached table is drafted. */
function classify(schema: SchemaInfo, name: string, reach: Reach, subjectTable: string): "delete" | "subject-ref" | "others" | "lookup" | "plain" {
  const info = schema.tables.get(name)!;
  if (name === subjectTable || reach.owned) return "delete";
  if (isPeopleLike(schema, info)) return "others";
  if (personalColumns(schema, info).length === 0) return "plain";
  // Directly referenced by the subject's own row (their address) vs. through their dependents (a shipper).
  if (reach.path.length === 2 && !isLookup(schema, info)) return "subject-ref";
  if (isLookup(schema, info)) return "lookup";
  return "others";
}

/**
 * A draft data map from the live schema: every table the subject reaches by foreign keys and by
 * drafted `via` links (columns named like a reference without an FK; columns holding the
 * subject's identity values, from `opts.valueReferences`). The subject's own tables are deleted;
 * a table the subject's row references directly (their address) is anonymized as the subject's
 * while nobody else uses the row; tables naming other people (staff, suppliers) are declared
 * `owner: "others"`; lookup tables and tables with nothing personal are ignored, with the reason.
 * Personal-looking columns become `todo` entries in words, so `lethe check` refuses the draft
 * until a human decides each one; key columns are never flagged.
 */
export function draftDataMap(schema: SchemaInfo, subject: DraftSubject, opts: DraftOptions): DraftDataMap {
  const storeName = opts.store ?? "main";
  const draftSubject = draftSubjectOf(schema, subject, storeName);
  const vias = new Map<string, DraftVia[]>();
  const addVia = (r: ReferenceColumn): boolean => {
    const list = vias.get(r.table) ?? [];
    if (list.some((v) => v.column === r.column)) return false;
    // Found by its (email) values but pointing at a column that is no identity (the contact): say how it compares.
    const match = r.by === "values" && r.identity === "contact" ? { match: "normalized" as const } : {};
    vias.set(r.table, [...list, { column: r.column, references: r.references, ...match }]);
    return true;
  };
  for (const r of opts.valueReferences ?? []) addVia(r);

  let tables: Record<string, DraftTable> = {};
  let ignore: Record<string, string> = {};
  // Links drafted for one round can make more tables the subject's (a `<table>_id` of a newly
  // reached table), so draft until no new link turns up.
  for (let round = 0; round < 10; round++) {
    const declared = { tables: Object.fromEntries([...vias].map(([t, via]) => [t, { via }])) };
    const reached = reachableTables(subject.table, linksOf(schema, declared, draftSubject), () => false);
    tables = {};
    ignore = {};
    const order = [...reached].sort(([a], [b]) => (a === subject.table ? -1 : b === subject.table ? 1 : a.localeCompare(b)));
    for (const [name, reach] of order) {
      const info = schema.tables.get(name);
      if (!info) continue;
      const how = classify(schema, name, reach, subject.table);
      const keys = new Set(schema.foreignKeys.filter((fk) => fk.from.table === name).flatMap((fk) => fk.from.columns));
      for (const v of vias.get(name) ?? []) keys.add(v.column);
      if (name === subject.table) keys.add(subject.column);
      const via = vias.get(name);
      if (how === "delete") tables[name] = { action: "delete", fields: draftFields(schema, info, keys), ...(via ? { via } : {}) };
      else if (how === "subject-ref") {
        tables[name] = {
          action: "anonymize",
          owner: "subject",
          reason: `draft: the subject's row references it directly (${reach.path.join(" → ")}), like their own address; a row anyone else references is left alone — confirm, or declare "owner": "others"`,
          fields: draftFields(schema, info, keys),
        };
      } else if (how === "others") {
        const people = personalColumns(schema, info);
        tables[name] = {
          owner: "others",
          reason: `draft: other people's data (${people.join(", ")}), reached only through references from the subject's rows (${reach.path.join(" → ")}); an erasure never changes it — confirm, or declare it the subject's`,
        };
      } else if (how === "lookup") {
        const labels = personalColumns(schema, info);
        ignore[name] =
          `draft: lookup data: ${labels.map((c) => `"${c}"`).join(", ")} only label${labels.length === 1 ? "s" : ""} the row, the same for everyone, and no person's row depends on it — confirm`;
      } else ignore[name] = DRAFT_IGNORE_REASON;
    }
    const subjectOwned = Object.entries(tables).filter(([, t]) => !("owner" in t && t.owner === "others"));
    const more = referencesByName(schema, [subject.table, ...subjectOwned.map(([t]) => t)], draftSubject);
    let added = false;
    for (const r of more) added = addVia(r) || added;
    if (!added) break;
  }
  return {
    $schema: "./lethe.schema.json",
    version: 1,
    subject: draftSubject,
    stores: { [storeName]: { kind: "postgres", url: opts.url, schema: schema.schema, tables: tables as PostgresStoreInput["tables"], ignore } },
  };
}

/** Parses `<table>.<column>` as given to `lethe init --subject`. */
export function parseSubjectArg(value: string): DraftSubject {
  const m = /^([A-Za-z_][A-Za-z0-9_$]*)\.([A-Za-z_][A-Za-z0-9_$]*)$/.exec(value);
  if (!m) throw new DraftError(`--subject must be <table>.<column>, e.g. customer.customer_id`);
  return { table: m[1]!, column: m[2]! };
}
