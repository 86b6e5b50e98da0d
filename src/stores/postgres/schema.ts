import { z } from "zod";
import { MATCH_RULES } from "../../subject/identity-match";
import type { IssueAt } from "../store-kind";

/**
 * The data-map declaration of a Postgres store of the application: its tables, their erase
 * actions and personal fields, `via` links, and the reachable tables it ignores. Rules that need
 * the live schema are `lethe check` rules (`stores/postgres/check`).
 */

/** Masking of one column, type-aware (see `stores/postgres/masking`). */
export const MASKS = ["null", "token", "email", "hash", "year"] as const;
/** One of {@link MASKS}. */
export type Mask = (typeof MASKS)[number];

/** Categories of personal data (Art. 30(1)(c)); free text is allowed for anything else. */
export const CATEGORIES = ["identity", "contact", "location", "financial", "online", "demographic", "content", "health", "other"] as const;

/** A plain SQL identifier (table, column, schema), as the data map may name one. */
export const IDENTIFIER = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be a plain SQL identifier (letters, digits, _ and $; not starting with a digit)");

const personalField = z
  .object({
    /** Category of the data (e.g. contact, identity, financial). */
    category: z.union([z.enum(CATEGORIES), z.string().min(1)]),
    /** How the column is masked when the row is anonymized or kept. */
    mask: z.enum(MASKS).optional(),
    /** In a `keep` table: the ground needs this column, so it stays as it is. */
    retain: z.literal(true).optional(),
    description: z.string().optional(),
    /**
     * This column is a copy of a field of the subject table (`customers.email`): a rectification
     * of that field changes it too, in the subject's rows of this table only.
     */
    mirrors: z.string().min(1).optional(),
  })
  .strict();

const notPersonalField = z
  .object({
    personal: z.literal(false),
    /** Why the column is not personal data. */
    note: z.string().optional(),
  })
  .strict();

const undecidedField = z
  .object({
    /** Written by `lethe init` for a column that needs a human decision; `lethe check` refuses it. */
    todo: z.string(),
  })
  .strict();

/** One column's declaration: personal (with category and masking), not personal, or undecided. */
export const FIELD_SCHEMA = z.union([personalField, notPersonalField, undecidedField]);
/** A field declaration. */
export type FieldSpec = z.infer<typeof FIELD_SCHEMA>;

/** A link with no foreign key: `column` of this table holds `references.column` of `references.table`. */
export const VIA_SCHEMA = z
  .object({
    column: IDENTIFIER,
    references: z.object({ table: IDENTIFIER, column: IDENTIFIER }).strict(),
    /**
     * How the two columns' values are compared (`subject/identity-match`): `normalized` is
     * `lower(btrim(x))` on both sides. (Default: the rule of the subject identity held in
     * `references.column`, else `exact`.)
     */
    match: z.enum(MATCH_RULES).optional(),
  })
  .strict();
/** A `via` link. */
export type ViaSpec = z.infer<typeof VIA_SCHEMA>;

/** Whose data a table holds: the subject's (default), or other people's / the controller's. */
export const OWNERS = ["subject", "others"] as const;
/** One of {@link OWNERS}. */
export type Owner = (typeof OWNERS)[number];

/** What an erasure does to a table's rows of the subject. */
export const TABLE_ACTIONS = ["delete", "anonymize", "keep"] as const;

/** One table of a Postgres store: its erase action and its fields. */
const TABLE_OBJECT = z
  .object({
    /**
     * What an erasure does to the subject's rows: delete them, mask their personal fields, or keep
     * them (with a `ground`). Required unless `owner` is `"others"` (whose rows nothing changes).
     */
    action: z.enum(TABLE_ACTIONS).optional(),
    /**
     * Whose data the table holds: `"subject"` (the person's own rows: account, addresses, orders,
     * tickets) or `"others"` (staff, suppliers, shops: other people's or the controller's). Rows of
     * an `others` table are never changed by an erasure, a retention cascade or a rectification
     * and never exported; references from them make a row shared. (Default: "subject"; a table
     * reached only through the subject's outgoing references must say it explicitly to be
     * deleted or anonymized.)
     */
    owner: z.enum(OWNERS).optional(),
    /** Why the table is the subject's or other people's (required for `owner: "others"`). */
    reason: z.string().min(1).optional(),
    /** Legal ground for `keep` (Art. 17(3)), e.g. "tax records, 10 years (HGB §257)". */
    ground: z.string().min(1).optional(),
    /** How long kept rows are kept (ISO 8601 duration), for the info sheet and register. */
    retention: z.string().optional(),
    /** Why this table holds personal data (Art. 30). */
    purpose: z.string().optional(),
    fields: z.record(IDENTIFIER, FIELD_SCHEMA).default({}),
    /** Links to other declared tables that have no foreign key. */
    via: z.array(VIA_SCHEMA).default([]),
  })
  .strict();

/** One table of a Postgres store (an `owner: "others"` table's action is `keep`: nothing changes). */
export const TABLE_SCHEMA = TABLE_OBJECT.superRefine((t, ctx) => {
  if (t.owner !== "others" && t.action === undefined) {
    ctx.addIssue({ code: "custom", path: ["action"], message: 'give the erase action ("delete", "anonymize" or "keep"), or declare "owner": "others"' });
  }
}).transform((t) => ({ ...t, action: t.action ?? ("keep" as const) }));
/** A table declaration. */
export type TableSpec = z.infer<typeof TABLE_SCHEMA>;

/** True when the table holds other people's (or the controller's) data: an erasure leaves it alone. */
export function isOthersTable(spec: Pick<TableSpec, "owner"> | undefined): boolean {
  return spec?.owner === "others";
}

/** A Postgres database of the application. */
export const POSTGRES_STORE_SCHEMA = z
  .object({
    kind: z.literal("postgres"),
    /** Connection URL; `${VAR}` is replaced from the environment so secrets stay out of the file. */
    url: z.string().min(1),
    schema: IDENTIFIER.default("public"),
    tables: z.record(IDENTIFIER, TABLE_SCHEMA),
    /** Tables reachable from the subject that hold none of its personal data, with the reason. */
    ignore: z.record(IDENTIFIER, z.string().min(1, "give the reason the table is ignored")).default({}),
    /**
     * Columns (`<table>.<column>`) that look like a reference to a mapped table or hold values of
     * the subject's identities but are not links, each with the reason (e.g. a free-text reference
     * typed by staff). `lethe check` fails closed on any such column that is neither a `via` link
     * nor listed here.
     */
    notLinks: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, "must be <table>.<column>"),
        z.string().min(1, "give the reason the column is not a link"),
      )
      .default({}),
  })
  .strict();
/** A Postgres store declaration. */
export type PostgresStoreSpec = z.infer<typeof POSTGRES_STORE_SCHEMA>;
/** A Postgres store declaration as written (defaults not applied yet). */
export type PostgresStoreInput = z.input<typeof POSTGRES_STORE_SCHEMA>;

/**
 * The cross-field rules of a Postgres store declaration (zod cannot express them per field): a
 * kept table records its ground, an `others` table its reason and no action that changes rows,
 * `via` targets are declared, personal fields of anonymized and kept subject tables are masked
 * (or retained), and nothing is declared twice (table and ignored; via and not a link).
 */
export function refinePostgresStore(store: PostgresStoreSpec, issue: IssueAt): void {
  for (const [tableName, table] of Object.entries(store.tables)) {
    const at = ["tables", tableName];
    if (store.ignore[tableName] !== undefined) issue(["ignore", tableName], "a table cannot be both declared and ignored");
    table.via.forEach((via, i) => {
      if (!store.tables[via.references.table]) issue([...at, "via", i, "references", "table"], `table "${via.references.table}" is not declared in this store`);
      const key = `${tableName}.${via.column}`;
      if (store.notLinks[key] !== undefined) issue(["notLinks", key], `column "${key}" is declared both a via link and not a link`);
    });
    if (isOthersTable(table)) {
      if (!table.reason) issue([...at, "reason"], 'say why the table holds other people\'s data (e.g. "staff of the shop, not customers")');
      if (table.action !== "keep")
        issue([...at, "action"], `an "others" table is never changed by an erasure; remove "action": "${table.action}" (or declare "owner": "subject")`);
      continue;
    }
    if (table.action === "keep" && !table.ground) issue([...at, "ground"], "a kept table must record its legal ground");
    for (const [column, field] of Object.entries(table.fields)) {
      if (!("category" in field)) continue;
      if (table.action === "anonymize" && !field.mask) issue([...at, "fields", column, "mask"], "a personal field of an anonymized table needs a mask");
      if (table.action === "keep" && !field.mask && !field.retain) {
        issue([...at, "fields", column], 'a personal field of a kept table needs a mask, or "retain": true when the ground needs it');
      }
    }
  }
}

/** The declaration of `store` when it is a postgres store of the data map, else null. */
export function postgresStoreOf(map: { stores: Record<string, { kind: string }> }, store: string): PostgresStoreSpec | null {
  const spec = map.stores[store];
  return spec?.kind === "postgres" ? (spec as PostgresStoreSpec) : null;
}
