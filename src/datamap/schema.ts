import { z } from "zod";
import { RETENTION_POLICY_SCHEMA } from "./retention-policy";
import { RECTIFICATION_SCHEMA, refineRights } from "./rights";
import { TRANSPARENCY_KEYS } from "./transparency";
import { kindOf, STORE_KINDS, STORE_SCHEMA } from "../stores/registry";
import { IDENTIFIER } from "../stores/postgres/schema";
import { identitySpecs, MATCH_RULES } from "../subject/identity-match";

/**
 * The data map, version 1: one zod schema, also emitted as JSON Schema (`lethe.schema.json`)
 * for editors. Each store kind contributes its fragment (`stores/<kind>/schema`) and its
 * cross-field rules; cross-references (subject store, retention stores) are checked here;
 * everything that needs the live stores is checked by `lethe check`.
 */

/**
 * One identity: its column, or `{ column, match }`. `match` says how values are compared
 * (`subject/identity-match`): `normalized` = `lower(btrim(x))` on both sides, `exact` as stored.
 * (Default: `normalized` for an identity named `email` or a column whose name contains "email",
 * else `exact`.)
 */
export const IDENTITY_SCHEMA = z.union([IDENTIFIER, z.object({ column: IDENTIFIER, match: z.enum(MATCH_RULES).optional() }).strict()]);

/**
 * Where mail to the subject goes (exports; later breach and rights notices): columns of the
 * subject table. No unique index is needed: identities find subjects, the contact reaches them.
 */
export const CONTACT_SCHEMA = z
  .object({
    /** Column holding the subject's email address. */
    email: IDENTIFIER,
    /** Column holding the subject's preferred language (e.g. `de`, `en-GB`), for notices. */
    locale: IDENTIFIER.optional(),
    /** Column holding the subject's country, for counting affected people by country. */
    country: IDENTIFIER.optional(),
  })
  .strict();
/** The subject's contact columns. */
export type ContactSpec = z.infer<typeof CONTACT_SCHEMA>;

/** The subject: which table and key identify a person, which columns are identities, where mail goes. */
export const SUBJECT_SCHEMA = z
  .object({
    store: z.string().min(1),
    table: IDENTIFIER,
    key: IDENTIFIER,
    /** Identity name → column (or `{column, match}`), e.g. `{ "email": "email" }`; a request may name a subject by any. */
    identities: z.record(IDENTIFIER, IDENTITY_SCHEMA).default({}),
    /** Where mail to the subject goes. (Default: the `email` identity's column, when there is one.) */
    contact: CONTACT_SCHEMA.optional(),
  })
  .strict();

/** The names of the kinds `can` says yes to, for messages ("postgres", "postgres or redis"). */
const kindsWhere = (can: (k: (typeof STORE_KINDS)[number]) => boolean): string =>
  STORE_KINDS.filter(can)
    .map((k) => k.kind)
    .join(" or ");

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
    /** How rectifications (Art. 16) are handled. (Default: applied without approval) */
    rectification: RECTIFICATION_SCHEMA.default({ requiresApproval: false }),
  })
  .strict()
  .superRefine((map, ctx) => {
    const subjectStore = map.stores[map.subject.store];
    if (!subjectStore) {
      ctx.addIssue({ code: "custom", path: ["subject", "store"], message: `store "${map.subject.store}" is not declared in stores` });
      return;
    }
    const subjectKind = kindOf(subjectStore);
    if (!subjectKind.hasSubjectTable) {
      ctx.addIssue({ code: "custom", path: ["subject", "store"], message: `the subject store must be a ${kindsWhere((k) => "hasSubjectTable" in k)} store` });
    } else if (!subjectKind.hasSubjectTable(subjectStore, map.subject.table)) {
      ctx.addIssue({ code: "custom", path: ["subject", "table"], message: `table "${map.subject.table}" is not declared in store "${map.subject.store}"` });
    }
    if ("id" in map.subject.identities) {
      ctx.addIssue({ code: "custom", path: ["subject", "identities", "id"], message: '"id" is reserved for the subject key' });
    }
    const columns = new Map<string, string>();
    for (const spec of identitySpecs(map.subject)) {
      const other = columns.get(spec.column);
      if (other !== undefined)
        ctx.addIssue({ code: "custom", path: ["subject", "identities", spec.name], message: `column "${spec.column}" is already identity "${other}"` });
      columns.set(spec.column, spec.name);
    }
    for (const [storeName, store] of Object.entries(map.stores)) {
      kindOf(store).refine?.(store, (path, message) => ctx.addIssue({ code: "custom", path: ["stores", storeName, ...path], message }));
    }
    refineRights(map, (path, message) => ctx.addIssue({ code: "custom", path, message }));
    const policyNames = new Set<string>();
    map.retention.forEach((policy, i) => {
      if (policyNames.has(policy.name)) ctx.addIssue({ code: "custom", path: ["retention", i, "name"], message: `policy name "${policy.name}" is used twice` });
      policyNames.add(policy.name);
      const store = map.stores[policy.store];
      if (!store || !kindOf(store).sweeps) {
        ctx.addIssue({
          code: "custom",
          path: ["retention", i, "store"],
          message: `store "${policy.store}" is not a ${kindsWhere((k) => k.sweeps)} store declared in stores`,
        });
      }
    });
  });

/** A validated data map. */
export type DataMap = z.infer<typeof DATA_MAP_SCHEMA>;
/** The input shape (what a `lethe.config.ts` author writes). */
export type DataMapInput = z.input<typeof DATA_MAP_SCHEMA>;
