import type { CheckOptions, SqlConnection } from "../store-kind";
import { connectStore } from "./connect";
import { introspect, type SchemaInfo } from "./introspect";
import type { PostgresStoreSpec } from "./schema";

/**
 * What a postgres store adds to the data map's fingerprint: which database it is — the cluster's
 * `system_identifier` (null where the role may not read it) and the database name, never the URL
 * or a password — and the shape of the mapped schema (tables, columns and types, primary keys,
 * foreign keys), so two processes that plan erasures against different schemas differ. Partitions
 * are left out: the parent covers them, and a new monthly partition must not split a deployment.
 */
export async function postgresFingerprint(spec: PostgresStoreSpec, opts: CheckOptions = {}): Promise<unknown> {
  const db: SqlConnection = await (opts.connect ?? connectStore)(spec.url);
  try {
    const ident = await db.query<{ db: string; may: boolean }>(
      `SELECT current_database() AS db, has_function_privilege('pg_control_system()', 'execute') AS may`,
    );
    const system = ident.rows[0]!.may ? (await db.query<{ id: string }>(`SELECT system_identifier::text AS id FROM pg_control_system()`)).rows[0]!.id : null;
    return { database: ident.rows[0]!.db, system, shape: schemaShape(await introspect(db, spec.schema)) };
  } finally {
    await db.end().catch(() => undefined);
  }
}

/** A canonical, sorted description of a schema's shape (no data). */
export function schemaShape(schema: SchemaInfo): unknown {
  const tables = [...schema.tables.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({
      name: t.name,
      kind: t.relkind,
      primaryKey: t.primaryKey,
      columns: [...t.columns.values()].map((c) => [c.name, c.sqlType, c.isNullable]),
    }));
  const foreignKeys = schema.foreignKeys
    .map((fk) => [fk.from.table, fk.from.columns.join(","), fk.to.table, fk.to.columns.join(","), fk.onDelete])
    .sort((a, b) => a.join("|").localeCompare(b.join("|")));
  return { schema: schema.schema, tables, foreignKeys };
}
