import type { ClientBase, Pool } from "pg";

/** Broad type family of a column, what masking and checks reason about. */
export type TypeFamily = "text" | "number" | "date" | "timestamp" | "boolean" | "uuid" | "json" | "bytea" | "other";

/** One column of the live schema. */
export interface ColumnInfo {
  name: string;
  /** `format_type()` of the column, e.g. `character varying(60)`. */
  sqlType: string;
  family: TypeFamily;
  isNullable: boolean;
  /** Covered alone by a PRIMARY KEY or UNIQUE constraint/index. */
  isUnique: boolean;
  /** Declared maximum length of a `varchar(n)`/`char(n)`, else null. */
  maxLength: number | null;
}

/** One table of the live schema. */
export interface TableInfo {
  name: string;
  columns: Map<string, ColumnInfo>;
  primaryKey: string[];
}

/** One foreign key: `from.columns` of `from.table` reference `to.columns` of `to.table`. */
export interface ForeignKey {
  name: string;
  from: { table: string; columns: string[] };
  to: { table: string; columns: string[] };
  /** `pg_constraint.confdeltype`: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: string;
}

/** The live schema of one Postgres namespace. */
export interface SchemaInfo {
  schema: string;
  tables: Map<string, TableInfo>;
  foreignKeys: ForeignKey[];
}

type Queryable = Pick<ClientBase | Pool, "query">;

function familyOf(typname: string, typcategory: string): TypeFamily {
  if (typname === "uuid") return "uuid";
  if (typname === "date") return "date";
  if (typname === "timestamp" || typname === "timestamptz") return "timestamp";
  if (typname === "json" || typname === "jsonb") return "json";
  if (typname === "bytea") return "bytea";
  if (typname === "bool") return "boolean";
  if (typcategory === "S") return "text";
  if (typcategory === "N") return "number";
  return "other";
}

/** Reads tables, columns, primary keys, single-column uniqueness and foreign keys of `schema`. */
export async function introspect(db: Queryable, schema: string): Promise<SchemaInfo> {
  const cols = await db.query<{
    table: string;
    column: string;
    sql_type: string;
    typname: string;
    typcategory: string;
    not_null: boolean;
    max_length: number | null;
    is_unique: boolean;
    pk_pos: number | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS sql_type,
            t.typname, t.typcategory, a.attnotnull AS not_null,
            CASE WHEN t.typname IN ('varchar','bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS max_length,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1
                    AND i.indkey[0] = a.attnum AND i.indpred IS NULL) AS is_unique,
            (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_pos
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = CASE WHEN (SELECT typtype FROM pg_type WHERE oid = a.atttypid) = 'd'
                                      THEN (SELECT typbasetype FROM pg_type WHERE oid = a.atttypid) ELSE a.atttypid END
      WHERE n.nspname = $1 AND c.relkind IN ('r','p')
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const tables = new Map<string, TableInfo>();
  const pkPositions = new Map<string, Array<[number, string]>>();
  for (const r of cols.rows) {
    let t = tables.get(r.table);
    if (!t) {
      t = { name: r.table, columns: new Map(), primaryKey: [] };
      tables.set(r.table, t);
    }
    t.columns.set(r.column, {
      name: r.column,
      sqlType: r.sql_type,
      family: familyOf(r.typname, r.typcategory),
      isNullable: !r.not_null,
      isUnique: r.is_unique,
      maxLength: r.max_length,
    });
    if (r.pk_pos !== null) {
      const list = pkPositions.get(r.table) ?? [];
      list.push([r.pk_pos, r.column]);
      pkPositions.set(r.table, list);
    }
  }
  for (const [table, list] of pkPositions) {
    tables.get(table)!.primaryKey = list.sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  }
  const fks = await db.query<{ name: string; from_table: string; from_cols: string[]; to_table: string; to_cols: string[]; on_delete: string }>(
    `SELECT con.conname AS name, src.relname AS from_table, dst.relname AS to_table, con.confdeltype AS on_delete,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS from_cols,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS to_cols
       FROM pg_constraint con
       JOIN pg_class src ON src.oid = con.conrelid
       JOIN pg_class dst ON dst.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = src.relnamespace
       JOIN pg_namespace dn ON dn.oid = dst.relnamespace
      WHERE con.contype = 'f' AND n.nspname = $1 AND dn.nspname = $1
      ORDER BY con.conname`,
    [schema],
  );
  return {
    schema,
    tables,
    foreignKeys: fks.rows.map((r) => ({
      name: r.name,
      from: { table: r.from_table, columns: r.from_cols },
      to: { table: r.to_table, columns: r.to_cols },
      onDelete: r.on_delete,
    })),
  };
}
