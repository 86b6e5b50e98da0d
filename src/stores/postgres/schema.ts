import { z } from "zod";
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
  })
  .strict();
/** A `via` link. */
export type ViaSpec = z.infer<typeof VIA_SCHEMA>;

/** One table of a Postgres store: its erase action and its fields. */
export const TABLE_SCHEMA = z
  .object({
    action: z.enum(["delete", "anonymize", "keep"]),
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
/** A table declaration. */
export type TableSpec = z.infer<typeof TABLE_SCHEMA>;

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
  })
  .strict();
/** A Postgres store declaration. */
export type PostgresStoreSpec = z.infer<typeof POSTGRES_STORE_SCHEMA>;
/** A Postgres store declaration as written (defaults not applied yet). */
export type PostgresStoreInput = z.input<typeof POSTGRES_STORE_SCHEMA>;

/**
 * The cross-field rules of a Postgres store declaration (zod cannot express them per field): a
 * kept table records its ground, `via` targets are declared, personal fields of anonymized and
 * kept tables are masked (or retained), and no table is both declared and ignored.
 */
export function refinePostgresStore(store: PostgresStoreSpec, issue: IssueAt): void {
  for (const [tableName, table] of Object.entries(store.tables)) {
    const at = ["tables", tableName];
    if (table.action === "keep" && !table.ground) issue([...at, "ground"], "a kept table must record its legal ground");
    table.via.forEach((via, i) => {
      if (!store.tables[via.references.table]) issue([...at, "via", i, "references", "table"], `table "${via.references.table}" is not declared in this store`);
    });
    for (const [column, field] of Object.entries(table.fields)) {
      if (!("category" in field)) continue;
      if (table.action === "anonymize" && !field.mask) issue([...at, "fields", column, "mask"], "a personal field of an anonymized table needs a mask");
      if (table.action === "keep" && !field.mask && !field.retain) {
        issue([...at, "fields", column], 'a personal field of a kept table needs a mask, or "retain": true when the ground needs it');
      }
    }
    if (store.ignore[tableName] !== undefined) issue(["ignore", tableName], "a table cannot be both declared and ignored");
  }
}

/** The declaration of `store` when it is a postgres store of the data map, else null. */
export function postgresStoreOf(map: { stores: Record<string, { kind: string }> }, store: string): PostgresStoreSpec | null {
  const spec = map.stores[store];
  return spec?.kind === "postgres" ? (spec as PostgresStoreSpec) : null;
}
