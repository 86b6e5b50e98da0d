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
  /** Covered by a UNIQUE index on `lower(btrim(column))`: unique as a `normalized` identity compares it. */
  isUniqueNormalized: boolean;
  /** Declared maximum length of a `varchar(n)`/`char(n)`, else null. */
  maxLength: number | null;
}

/** One logical table of the live schema: a plain table, or a partitioned / inheritance parent with its children folded in. */
export interface TableInfo {
  name: string;
  /** The parent's columns (what a query on the parent returns). */
  columns: Map<string, ColumnInfo>;
  primaryKey: string[];
  /** Partitions and inheritance children, every level (empty for a plain table). A query on the table reaches their rows. */
  children: string[];
  /** `p` partitioned, `r` plain or inheritance parent. */
  relkind: "r" | "p";
}

/** One foreign key: `from.columns` of `from.table` reference `to.columns` of `to.table`. */
export interface ForeignKey {
  name: string;
  from: { table: string; columns: string[] };
  to: { table: string; columns: string[] };
  /** `pg_constraint.confdeltype`: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: string;
  /**
   * Where the constraint is declared: the parent itself and/or some of its partitions. An FK
   * declared on any partition counts for the whole logical table (every partition, present and
   * future); `check` reports partitions that lack it.
   */
  declaredOn: string[];
}

/** The live schema of one Postgres namespace, partitions and inheritance children folded into their parent. */
export interface SchemaInfo {
  schema: string;
  /** Logical tables by name (children are not listed on their own). */
  tables: Map<string, TableInfo>;
  foreignKeys: ForeignKey[];
  /** Partition or inheritance child → its top-level parent, for every folded child. */
  parents: Map<string, string>;
  /** Partition or inheritance child → its direct parent (differs from `parents` in multi-level partitioning). */
  directParents: Map<string, string>;
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

/**
 * Reads the tables of `schema` with their columns, primary keys, single-column uniqueness and
 * foreign keys. Partitions and inheritance children are folded into their top-level parent: the
 * parent is the one logical table (its columns; a query on it reaches every partition, present
 * and future), and a foreign key declared on any partition counts for the parent.
 */
export async function introspect(db: Queryable, schema: string): Promise<SchemaInfo> {
  const rels = await db.query<{ oid: string; name: string; root_oid: string; relkind: "r" | "p"; direct_parent: string | null }>(
    `WITH RECURSIVE tree AS (
       SELECT c.oid, c.oid AS root FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r','p') AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
       UNION
       SELECT i.inhrelid, t.root FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
     )
     SELECT DISTINCT ON (t.oid) t.oid::text AS oid, c.relname AS name, t.root::text AS root_oid, c.relkind::text AS relkind,
            (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = t.oid ORDER BY i.inhseqno LIMIT 1) AS direct_parent
       FROM tree t JOIN pg_class c ON c.oid = t.oid
      WHERE c.relkind IN ('r','p')
      ORDER BY t.oid, t.root`,
    [schema],
  );
  const nameOf = new Map(rels.rows.map((r) => [r.oid, r.name]));
  const rootOf = new Map(rels.rows.map((r) => [r.oid, r.root_oid]));
  const roots = rels.rows.filter((r) => r.oid === r.root_oid);
  const parents = new Map<string, string>();
  const directParents = new Map<string, string>();
  for (const r of rels.rows) {
    if (r.oid === r.root_oid) continue;
    parents.set(r.name, nameOf.get(r.root_oid)!);
    if (r.direct_parent !== null) directParents.set(r.name, r.direct_parent);
  }

  const cols = await db.query<{
    table: string;
    column: string;
    sql_type: string;
    typname: string;
    typcategory: string;
    not_null: boolean;
    max_length: number | null;
    is_unique: boolean;
    is_unique_normalized: boolean;
    pk_pos: number | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS sql_type,
            t.typname, t.typcategory, a.attnotnull AS not_null,
            CASE WHEN t.typname IN ('varchar','bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS max_length,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1
                    AND i.indkey[0] = a.attnum AND i.indpred IS NULL) AS is_unique,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1
                    AND i.indkey[0] = 0 AND i.indpred IS NULL
                    AND regexp_replace(pg_get_indexdef(i.indexrelid, 1, true), '::text|[[:space:]"()]', '', 'g') = 'lowerbtrim' || a.attname) AS is_unique_normalized,
            (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_pos
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = CASE WHEN (SELECT typtype FROM pg_type WHERE oid = a.atttypid) = 'd'
                                      THEN (SELECT typbasetype FROM pg_type WHERE oid = a.atttypid) ELSE a.atttypid END
      WHERE c.oid = ANY($1::oid[])
      ORDER BY c.relname, a.attnum`,
    [roots.map((r) => r.oid)],
  );
  const tables = new Map<string, TableInfo>();
  for (const r of roots) tables.set(r.name, { name: r.name, columns: new Map(), primaryKey: [], children: [], relkind: r.relkind });
  for (const [child, parent] of parents) tables.get(parent)!.children.push(child);
  for (const t of tables.values()) t.children.sort();
  const pkPositions = new Map<string, Array<[number, string]>>();
  for (const r of cols.rows) {
    const t = tables.get(r.table)!;
    t.columns.set(r.column, {
      name: r.column,
      sqlType: r.sql_type,
      family: familyOf(r.typname, r.typcategory),
      isNullable: !r.not_null,
      isUnique: r.is_unique,
      isUniqueNormalized: r.is_unique_normalized,
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
  return { schema, tables, foreignKeys: await foreignKeysOf(db, nameOf, rootOf), parents, directParents };
}

/**
 * The foreign keys among the relations of `nameOf`, each side folded to its top-level parent and
 * deduplicated (a constraint cloned onto partitions, `conparentid` set, counts once; the same
 * reference declared on several partitions is one foreign key, `declaredOn` listing them).
 */
async function foreignKeysOf(db: Queryable, nameOf: Map<string, string>, rootOf: Map<string, string>): Promise<ForeignKey[]> {
  const oids = [...nameOf.keys()];
  const fks = await db.query<{ name: string; src: string; dst: string; from_cols: string[]; to_cols: string[]; on_delete: string }>(
    `SELECT con.conname AS name, con.conrelid::text AS src, con.confrelid::text AS dst, con.confdeltype AS on_delete,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS from_cols,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS to_cols
       FROM pg_constraint con
      WHERE con.contype = 'f' AND con.conparentid = 0 AND con.conrelid = ANY($1::oid[]) AND con.confrelid = ANY($1::oid[])
      ORDER BY con.conname`,
    [oids],
  );
  const folded = new Map<string, ForeignKey>();
  for (const r of fks.rows) {
    const from = { table: nameOf.get(rootOf.get(r.src)!)!, columns: r.from_cols };
    const to = { table: nameOf.get(rootOf.get(r.dst)!)!, columns: r.to_cols };
    const key = JSON.stringify([from, to]);
    const existing = folded.get(key);
    if (existing) {
      existing.declaredOn.push(nameOf.get(r.src)!);
      continue;
    }
    folded.set(key, { name: r.name, from, to, onDelete: r.on_delete, declaredOn: [nameOf.get(r.src)!] });
  }
  return [...folded.values()];
}
