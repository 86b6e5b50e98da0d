import type { StoreKind } from "../store-kind";
import { postgresAdapter } from "./adapter";
import { checkPostgresStore, POSTGRES_CHECK_RULES, type PostgresCheckRule } from "./check";
import { postgresExporter } from "./exporter";
import { postgresAffectedLocator } from "./locate-affected";
import { postgresFingerprint } from "./fingerprint";
import { isOthersTable, POSTGRES_STORE_SCHEMA, refinePostgresStore } from "./schema";
import { POSTGRES_RIGHTS } from "./rights";

/**
 * The postgres store kind: an application database whose tables are declared with erase actions
 * and personal fields. Discovery follows foreign keys (and `via` links) from the subject table;
 * an erasure is one transaction verified before COMMIT; an export streams the subject's rows with
 * COPY. The subject table lives in a store of this kind, and retention policies sweep its tables.
 */
export const postgresKind: StoreKind<typeof POSTGRES_STORE_SCHEMA, PostgresCheckRule> = {
  kind: "postgres",
  schema: POSTGRES_STORE_SCHEMA,
  hasSubjectTable: (spec, table) => spec.tables[table] !== undefined,
  sweeps: true,
  refine: refinePostgresStore,
  interpolate(spec, fill) {
    spec.url = fill("url", spec.url);
  },
  checkRules: POSTGRES_CHECK_RULES,
  check: checkPostgresStore,
  fingerprint: postgresFingerprint,
  summary: (spec) => `${Object.keys(spec.tables).length} tables, ${Object.keys(spec.ignore).length} ignored`,
  adapter: postgresAdapter,
  exporter: postgresExporter,
  affected: postgresAffectedLocator,
  rights: POSTGRES_RIGHTS,
  describe(store, spec, entries) {
    // Other people's tables hold nothing of the subject's (and are never exported): not on the sheet.
    const rows = Object.entries(spec.tables)
      .filter(([, t]) => !isOthersTable(t))
      .map(([table, t]) => {
        const categories = new Map<string, string[]>();
        for (const [column, field] of Object.entries(t.fields)) {
          if ("category" in field) categories.set(field.category, [...(categories.get(field.category) ?? []), column]);
        }
        const files = entries.filter((e) => e.table === table);
        return {
          table,
          purpose: t.purpose,
          categories,
          ...(t.retention !== undefined ? { period: t.retention } : {}),
          ...(t.action === "keep" && t.ground ? { keptFor: t.ground } : {}),
          rows: files.find((f) => f.contentType === "application/json")?.rows ?? files[0]?.rows ?? 0,
          files,
        };
      });
    return { rows };
  },
};
