import { z } from "zod";
import { RETENTION_POLICY_SCHEMA } from "./retention-policy";
import { TRANSPARENCY_KEYS } from "./transparency";
import { WEBHOOK_STORE_SCHEMA } from "../stores/webhook/schema";
import { REDIS_STORE_SCHEMA } from "../stores/redis/schema";
import { FILES_STORE_SCHEMA } from "../stores/files/schema";

/**
 * The data map, version 1: one zod schema, also emitted as JSON Schema (`lethe.schema.json`)
 * for editors. Cross-references (subject store, `via` targets) are checked here; everything
 * that needs the live database is checked by `lethe check`.
 */

/** Masking of one column, type-aware (see `erasure/masking`). */
export const MASKS = ["null", "token", "email", "hash", "year"] as const;
/** One of {@link MASKS}. */
export type Mask = (typeof MASKS)[number];

/** Categories of personal data (Art. 30(1)(c)); free text is allowed for anything else. */
export const CATEGORIES = ["identity", "contact", "location", "financial", "online", "demographic", "content", "health", "other"] as const;

const identifier = z
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
    column: identifier,
    references: z.object({ table: identifier, column: identifier }).strict(),
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
    fields: z.record(identifier, FIELD_SCHEMA).default({}),
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
    schema: identifier.default("public"),
    tables: z.record(identifier, TABLE_SCHEMA),
    /** Tables reachable from the subject that hold none of its personal data, with the reason. */
    ignore: z.record(identifier, z.string().min(1, "give the reason the table is ignored")).default({}),
  })
  .strict();
/** A Postgres store declaration. */
export type PostgresStoreSpec = z.infer<typeof POSTGRES_STORE_SCHEMA>;

/** Every store kind; new kinds join this union. */
export const STORE_SCHEMA = z.discriminatedUnion("kind", [POSTGRES_STORE_SCHEMA, WEBHOOK_STORE_SCHEMA, REDIS_STORE_SCHEMA, FILES_STORE_SCHEMA]);
/** A store declaration. */
export type StoreSpec = z.infer<typeof STORE_SCHEMA>;

/** The subject: which table and key identify a person, and which columns are identities. */
export const SUBJECT_SCHEMA = z
  .object({
    store: z.string().min(1),
    table: identifier,
    key: identifier,
    /** Identity name → column, e.g. `{ "email": "email" }`; a request may name a subject by any. */
    identities: z.record(identifier, identifier).default({}),
  })
  .strict();

/** The data map, version 1. */
export const DATA_MAP_SCHEMA = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    subject: SUBJECT_SCHEMA,
    stores: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "store names use letters, digits, _ and - only"), STORE_SCHEMA),
    /** Retention policies (storage limitation): see `datamap/retention-policy`. (Default: none) */
    retention: z.array(RETENTION_POLICY_SCHEMA).default([]),
    /** Controller, purposes, recipients, sources: what the export's info sheet tells the subject. */
    ...TRANSPARENCY_KEYS,
  })
  .strict()
  .superRefine((map, ctx) => {
    const subjectStore = map.stores[map.subject.store];
    if (!subjectStore) {
      ctx.addIssue({ code: "custom", path: ["subject", "store"], message: `store "${map.subject.store}" is not declared in stores` });
      return;
    }
    if (subjectStore.kind !== "postgres") {
      ctx.addIssue({ code: "custom", path: ["subject", "store"], message: "the subject store must be a postgres store" });
    } else if (!subjectStore.tables[map.subject.table]) {
      ctx.addIssue({ code: "custom", path: ["subject", "table"], message: `table "${map.subject.table}" is not declared in store "${map.subject.store}"` });
    }
    if ("id" in map.subject.identities) {
      ctx.addIssue({ code: "custom", path: ["subject", "identities", "id"], message: '"id" is reserved for the subject key' });
    }
    for (const [storeName, store] of Object.entries(map.stores)) {
      if (store.kind !== "postgres") continue;
      for (const [tableName, table] of Object.entries(store.tables)) {
        const at = ["stores", storeName, "tables", tableName];
        if (table.action === "keep" && !table.ground) {
          ctx.addIssue({ code: "custom", path: [...at, "ground"], message: "a kept table must record its legal ground" });
        }
        table.via.forEach((via, i) => {
          if (!store.tables[via.references.table]) {
            ctx.addIssue({
              code: "custom",
              path: [...at, "via", i, "references", "table"],
              message: `table "${via.references.table}" is not declared in this store`,
            });
          }
        });
        for (const [column, field] of Object.entries(table.fields)) {
          if (!("category" in field)) continue;
          if (table.action === "anonymize" && !field.mask) {
            ctx.addIssue({ code: "custom", path: [...at, "fields", column, "mask"], message: "a personal field of an anonymized table needs a mask" });
          }
          if (table.action === "keep" && !field.mask && !field.retain) {
            ctx.addIssue({
              code: "custom",
              path: [...at, "fields", column],
              message: 'a personal field of a kept table needs a mask, or "retain": true when the ground needs it',
            });
          }
        }
        if (store.ignore[tableName] !== undefined) {
          ctx.addIssue({ code: "custom", path: ["stores", storeName, "ignore", tableName], message: "a table cannot be both declared and ignored" });
        }
      }
    }
    const policyNames = new Set<string>();
    map.retention.forEach((policy, i) => {
      if (policyNames.has(policy.name)) ctx.addIssue({ code: "custom", path: ["retention", i, "name"], message: `policy name "${policy.name}" is used twice` });
      policyNames.add(policy.name);
      if (map.stores[policy.store]?.kind !== "postgres") {
        ctx.addIssue({ code: "custom", path: ["retention", i, "store"], message: `store "${policy.store}" is not a postgres store declared in stores` });
      }
    });
  });

/** A validated data map. */
export type DataMap = z.infer<typeof DATA_MAP_SCHEMA>;
/** The input shape (what a `lethe.config.ts` author writes). */
export type DataMapInput = z.input<typeof DATA_MAP_SCHEMA>;

/** Identity: a helper for `lethe.config.ts` files, giving editor completion. */
export function defineDataMap(map: DataMapInput): DataMapInput {
  return map;
}
