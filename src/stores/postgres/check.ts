import { Client } from "pg";
import type { DataMap } from "../../datamap/schema";
import { checkRetentionPolicies, RETENTION_RULES } from "../../retention/check-policies";
import type { CheckOptions, SqlConnection, StoreCheckProblem } from "../store-kind";
import { linksOf, reachableTables, type Reach } from "./graph";
import { introspect, type SchemaInfo, type TableInfo } from "./introspect";
import { maskMisfit } from "./masking";
import { looksPersonal } from "./personal";
import type { PostgresStoreSpec } from "./schema";

/** Ids of the rules `lethe check` applies to a postgres store (its retention policies included). */
export const POSTGRES_CHECK_RULES = [
  "store-unreachable",
  "missing-schema",
  "missing-table",
  "missing-column",
  "undeclared-reachable-table",
  "unreachable-table",
  "undecided-personal-column",
  "mask-misfit",
  "subject-key-not-unique",
  "identity-not-unique",
  "orphaning-delete",
  ...RETENTION_RULES,
] as const;
/** One of {@link POSTGRES_CHECK_RULES}. */
export type PostgresCheckRule = (typeof POSTGRES_CHECK_RULES)[number];

type CheckProblem = StoreCheckProblem<PostgresCheckRule>;
type CheckRule = PostgresCheckRule;

const CONNECT_TIMEOUT_MS = 10_000;

const CODE_TEXT: Readonly<Record<string, string>> = {
  "3D000": "the database does not exist",
  "28P01": "authentication failed",
  "28000": "authentication rejected",
  "57P03": "the server is starting up or shutting down",
  "53300": "too many connections",
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
};

async function defaultConnect(url: string): Promise<SqlConnection> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** The error's pg/Node code with a short description. Never the message: it may echo the URL. */
function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return "no error code";
  const text = CODE_TEXT[code];
  return text ? `${code}, ${text}` : code;
}

/**
 * `lethe check` for one postgres store: connects, makes sure the schema exists, introspects it,
 * checks the declarations against it ({@link checkStore}) and closes the connection again.
 */
export async function checkPostgresStore(map: DataMap, name: string, store: PostgresStoreSpec, opts: CheckOptions = {}): Promise<CheckProblem[]> {
  const connect = opts.connect ?? defaultConnect;
  let db: SqlConnection;
  try {
    db = await connect(store.url);
  } catch (err) {
    return [{ key: `stores.${name}.url`, rule: "store-unreachable", message: `cannot connect to the store (${describeError(err)})` }];
  }
  try {
    const ns = await db.query<{ found: number }>("SELECT 1 AS found FROM pg_namespace WHERE nspname = $1", [store.schema]);
    if (ns.rowCount === 0) {
      return [{ key: `stores.${name}.schema`, rule: "missing-schema", message: `schema "${store.schema}" does not exist in the store's database` }];
    }
    return checkStore(map, name, store, await introspect(db, store.schema));
  } catch (err) {
    return [{ key: `stores.${name}.url`, rule: "store-unreachable", message: `cannot read the store's catalog (${describeError(err)})` }];
  } finally {
    await db.end().catch(() => undefined);
  }
}

/**
 * Checks one Postgres store's declarations against its introspected schema (pure; no I/O).
 * Reachability rules apply to the subject's store, where the subject table is.
 */
export function checkStore(map: DataMap, name: string, store: PostgresStoreSpec, schema: SchemaInfo): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const at = `stores.${name}`;
  const add = (key: string, rule: CheckRule, message: string) => problems.push({ key, rule, message });

  for (const table of Object.keys(store.tables)) {
    if (!schema.tables.has(table)) add(`${at}.tables.${table}`, "missing-table", `table "${schema.schema}.${table}" does not exist`);
  }
  for (const table of Object.keys(store.ignore)) {
    if (!schema.tables.has(table))
      add(`${at}.ignore.${table}`, "missing-table", `ignored table "${schema.schema}.${table}" does not exist; remove it from ignore`);
  }

  const subjectHere = map.subject.store === name;
  const subjectInfo = subjectHere ? schema.tables.get(map.subject.table) : undefined;
  if (subjectInfo) problems.push(...checkSubject(map, subjectInfo));

  for (const [table, spec] of Object.entries(store.tables)) {
    const info = schema.tables.get(table);
    if (!info) continue;
    const tableAt = `${at}.tables.${table}`;
    for (const [column, field] of Object.entries(spec.fields)) {
      const col = info.columns.get(column);
      if ("todo" in field) {
        add(`${tableAt}.fields.${column}`, "undecided-personal-column", `column "${table}.${column}" is undecided, todo: ${field.todo}`);
      }
      if (!col) {
        add(`${tableAt}.fields.${column}`, "missing-column", `column "${table}.${column}" does not exist`);
        continue;
      }
      if ("category" in field && field.mask) {
        const misfit = maskMisfit(field.mask, col);
        if (misfit) add(`${tableAt}.fields.${column}.mask`, "mask-misfit", `column "${table}.${column}": ${misfit}`);
      }
    }
    for (const col of info.columns.values()) {
      if (spec.fields[col.name]) continue;
      const hint = looksPersonal(col);
      if (hint) {
        add(
          `${tableAt}.fields.${col.name}`,
          "undecided-personal-column",
          `column "${table}.${col.name}" looks personal (${hint.reason}) but is not declared; declare it with a category and mask (e.g. "${hint.category}", "${hint.mask}"), or {"personal": false}`,
        );
      }
    }
    spec.via.forEach((via, i) => {
      if (!info.columns.has(via.column)) add(`${tableAt}.via.${i}.column`, "missing-column", `via column "${table}.${via.column}" does not exist`);
      const target = schema.tables.get(via.references.table);
      if (target && !target.columns.has(via.references.column)) {
        add(`${tableAt}.via.${i}.references.column`, "missing-column", `via target column "${via.references.table}.${via.references.column}" does not exist`);
      }
    });
  }

  const reached = subjectInfo ? checkReach(map.subject.table, at, store, schema, add) : null;
  problems.push(...checkOrphaningDeletes(at, store, schema, reached));
  problems.push(...checkRetentionPolicies(map, name, store, schema));
  return problems;
}

/** Subject key and identity columns: they exist and are unique. */
function checkSubject(map: DataMap, info: TableInfo): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const { table, key } = map.subject;
  const keyCol = info.columns.get(key);
  if (!keyCol) {
    problems.push({ key: "subject.key", rule: "missing-column", message: `subject key column "${table}.${key}" does not exist` });
  } else if (!keyCol.isUnique) {
    problems.push({
      key: "subject.key",
      rule: "subject-key-not-unique",
      message: `subject key column "${table}.${key}" is not a primary key or UNIQUE, so one key could name several subjects`,
    });
  }
  for (const [identity, column] of Object.entries(map.subject.identities)) {
    const col = info.columns.get(column);
    if (!col) {
      problems.push({ key: `subject.identities.${identity}`, rule: "missing-column", message: `identity column "${table}.${column}" does not exist` });
    } else if (!col.isUnique) {
      problems.push({
        key: `subject.identities.${identity}`,
        rule: "identity-not-unique",
        message: `identity column "${table}.${column}" is not UNIQUE, so a request by ${identity} could match several subjects; add a unique index or remove the identity`,
      });
    }
  }
  return problems;
}

/** Undeclared tables the subject reaches, and declared tables it does not reach. */
function checkReach(
  subjectTable: string,
  at: string,
  store: PostgresStoreSpec,
  schema: SchemaInfo,
  add: (key: string, rule: CheckRule, message: string) => void,
): Map<string, Reach> {
  const isBoundary = (table: string) => !(table in store.tables) || table in store.ignore;
  const reached = reachableTables(subjectTable, linksOf(schema, store), isBoundary);
  for (const [table, reach] of reached) {
    if (table in store.tables || table in store.ignore) continue;
    add(
      `${at}.tables.${table}`,
      "undeclared-reachable-table",
      `table "${table}" is reachable from the subject by foreign keys (${reach.path.join(" → ")}) but is neither declared nor ignored; declare it in ${at}.tables, or add it to ${at}.ignore with the reason`,
    );
  }
  for (const table of Object.keys(store.tables)) {
    if (reached.has(table) || !schema.tables.has(table)) continue;
    add(
      `${at}.tables.${table}`,
      "unreachable-table",
      `table "${table}" is declared but no foreign-key path from the subject table "${subjectTable}" reaches it; add a "via" link to a declared table`,
    );
  }
  return reached;
}

const ON_DELETE: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/**
 * A `delete` table whose rows other rows keep pointing at: a reachable declared table whose rows
 * stay (anonymize, keep) through a NOT NULL foreign key, or an ignored table (left alone) through a
 * foreign key that blocks the delete. Deleting would fail or orphan those rows. `reached` is null
 * outside the subject's store, where every table counts.
 */
function checkOrphaningDeletes(at: string, store: PostgresStoreSpec, schema: SchemaInfo, reached: Map<string, Reach> | null): CheckProblem[] {
  const problems: CheckProblem[] = [];
  for (const fk of schema.foreignKeys) {
    const target = fk.to.table;
    const source = fk.from.table;
    if (source === target || store.tables[target]?.action !== "delete") continue;
    if (reached && !reached.has(source)) continue;
    const sourceSpec = store.tables[source];
    const notNull = fk.from.columns.filter((c) => schema.tables.get(source)?.columns.get(c)?.isNullable === false);
    const columns = (cols: string[]) => cols.map((c) => `"${source}.${c}"`).join(", ");
    let message: string | null = null;
    if (sourceSpec && sourceSpec.action !== "delete" && notNull.length > 0) {
      message = `deleting the subject's "${target}" rows would fail or orphan the rows of table "${source}" (action ${sourceSpec.action}) that reference them through NOT NULL column ${columns(notNull)} (${fk.name}); use action "anonymize" for "${target}", or make that column nullable`;
    } else if (source in store.ignore && (fk.onDelete === "a" || fk.onDelete === "r" || (fk.onDelete === "n" && notNull.length > 0))) {
      message = `deleting the subject's "${target}" rows would fail: ignored table "${source}" references them through ${columns(fk.from.columns)} (${fk.name}, ON DELETE ${ON_DELETE[fk.onDelete]}) and Lethe leaves its rows alone; declare "${source}" instead of ignoring it, or use action "anonymize" for "${target}"`;
    }
    if (message) problems.push({ key: `${at}.tables.${target}.action`, rule: "orphaning-delete", message });
  }
  return problems;
}
