import type { Pool, PoolClient } from "pg";
import { BreachInputError } from "../../breach/input-error";
import type { Scope, ScopeCondition } from "../../breach/scope";
import type { DataMap } from "../../datamap/schema";
import { contactColumns } from "../../subject/contact";
import { identityByName, identitySpecs } from "../../subject/identity-match";
import type { AffectedCounts, AffectedLocator, AffectedPerson, AffectedRunOptions } from "../affected";
import type { StoreDeps } from "../store-kind";
import { AffectedPathError, affectedPaths } from "./affected-paths";
import { compileAffectedSql, type AffectedSql } from "./affected-sql";
import { quoteIdent } from "./ident";
import { identityInSql } from "./identity-sql";
import type { ColumnInfo } from "./introspect";
import { isOthersTable } from "./schema";
import { buildStorePlan, type StorePlan } from "./store-plan";

/**
 * The postgres kind's breach locator: a scope (rows of a table by condition and time window, a
 * list of keys, or a list of identities) checked against the data map and the live schema, then
 * resolved in one read-only REPEATABLE READ transaction with a statement timeout, set-based
 * (`affected-sql`): nothing proportional to the breached rows travels to Node, and the freeze
 * streams the people through a cursor, one batch at a time.
 */

const fail = (field: string, message: string): never => {
  throw new BreachInputError("scope", [{ field, message }]);
};

/** A scope's table and predicate on alias `t`, checked against the plan; values are parameters. */
function predicateOf(plan: StorePlan, map: DataMap, scope: Scope): { table: string; where: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  if (scope.kind === "identities") {
    const rule = scope.identity === "id" ? undefined : identityByName(map.subject, scope.identity);
    if (!rule) {
      const known = identitySpecs(map.subject).map((i) => i.name);
      fail("scope.identity", `the data map declares no identity "${scope.identity}" (known: ${known.join(", ") || "none"})`);
    }
    const type = plan.tables.get(plan.subjectTable)!.info.columns.get(rule!.column)?.sqlType ?? "text";
    return { table: plan.subjectTable, where: identityInSql(rule!.column, param([...new Set(scope.values)]), rule!.match, type, "t"), params };
  }
  if (scope.store !== plan.store) fail("scope.store", `store "${scope.store}" is not this store`);
  if (isOthersTable(plan.spec.tables[scope.table])) {
    fail("scope.table", `table "${scope.table}" holds other people's data (owner: others); its rows belong to no subject of the data map`);
  }
  const planned = plan.tables.get(scope.table);
  if (!planned) fail("scope.table", `table "${scope.table}" is not declared in store "${scope.store}" (or not reachable from the subject)`);
  const columnOf = (name: string, field: string): ColumnInfo => {
    const c = planned!.info.columns.get(name);
    if (!c) fail(field, `table "${scope.table}" has no column "${name}"`);
    return c!;
  };
  if (scope.kind === "keys") {
    const name = scope.column ?? (planned!.info.primaryKey.length === 1 ? planned!.info.primaryKey[0]! : null);
    if (name === null) fail("scope.column", `table "${scope.table}" has no single-column primary key; name the key column`);
    const c = columnOf(name!, "scope.column");
    return { table: scope.table, where: `t.${quoteIdent(c.name)} = ANY(${param(scope.values.map(String))}::text[]::${c.sqlType}[])`, params };
  }
  const parts: string[] = [];
  scope.where.forEach((cond, i) => parts.push(conditionSql(columnOf(cond.column, `scope.where.${i}.column`), cond, `scope.where.${i}`, param)));
  if (scope.window) {
    const c = columnOf(scope.window.column, "scope.window.column");
    if (c.family !== "timestamp" && c.family !== "date") fail("scope.window.column", `column "${c.name}" is not a date or timestamp (${c.sqlType})`);
    if (scope.window.from) parts.push(`t.${quoteIdent(c.name)} >= ${param(scope.window.from)}::timestamptz`);
    if (scope.window.until) parts.push(`t.${quoteIdent(c.name)} < ${param(scope.window.until)}::timestamptz`);
  }
  return { table: scope.table, where: parts.length === 0 ? "true" : parts.map((p) => `(${p})`).join(" AND "), params };
}

/** One condition as SQL; the value must fit the column's type family (checked here, and by Postgres when bound). */
function conditionSql(c: ColumnInfo, cond: ScopeCondition, field: string, param: (v: unknown) => string): string {
  const col = `t.${quoteIdent(c.name)}`;
  if (cond.op === "is null" || cond.op === "is not null") return `${col} ${cond.op.toUpperCase()}`;
  if (c.family === "json" || c.family === "bytea") fail(`${field}.op`, `column "${c.name}" (${c.sqlType}) can only be tested with is null / is not null`);
  const values: readonly unknown[] = cond.op === "in" || cond.op === "between" ? cond.value : "value" in cond ? [cond.value] : [];
  values.forEach((v, i) => {
    const at = values.length > 1 ? `${field}.value.${i}` : `${field}.value`;
    const bad = (what: string) => fail(at, `column "${c.name}" is ${c.sqlType}; give ${what}`);
    if (c.family === "number" && !(typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))))) bad("a number");
    if (c.family === "boolean" && typeof v !== "boolean") bad("true or false");
    if ((c.family === "timestamp" || c.family === "date") && (typeof v !== "string" || Number.isNaN(Date.parse(v)))) bad("an ISO 8601 date or time");
    if (c.family === "uuid" && (typeof v !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))) bad("a UUID");
  });
  const typed = (v: unknown) => `${param(String(v))}::text::${c.sqlType}`;
  if (cond.op === "in") return `${col} = ANY(${param(cond.value.map(String))}::text[]::${c.sqlType}[])`;
  if (cond.op === "between") return `${col} BETWEEN ${typed(cond.value[0])} AND ${typed(cond.value[1])}`;
  return `${col} ${cond.op} ${typed(values[0])}`;
}

/** Category → columns of `table`'s personal fields, in a stable order (bit i = entry i). */
function categoriesOf(plan: StorePlan, table: string): Array<{ category: string; columns: string[] }> {
  const by = new Map<string, string[]>();
  for (const [column, f] of Object.entries(plan.tables.get(table)!.spec.fields)) {
    if ("category" in f) by.set(f.category, [...(by.get(f.category) ?? []), column]);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, 62)
    .map(([category, columns]) => ({ category, columns }));
}

/** Compiles a scope against the plan: the statements and how to read their category arrays. */
function compile(plan: StorePlan, map: DataMap, scope: Scope): { sql: AffectedSql; table: string; categories: string[]; hasCountry: boolean } {
  const { table, where, params } = predicateOf(plan, map, scope);
  let root;
  try {
    root = affectedPaths(plan, table);
  } catch (err) {
    if (err instanceof AffectedPathError) fail(scope.kind === "identities" ? "scope.identity" : "scope.table", err.message);
    throw err;
  }
  const categories = categoriesOf(plan, table);
  const columns = contactColumns(map);
  const contact = { email: columns.email ?? null, locale: columns.locale ?? null, country: columns.country ?? null };
  const sql = compileAffectedSql({ plan, root: root!, predicate: { where, params }, categories, subjectKey: map.subject.key, contact });
  return { sql, table, categories: categories.map((c) => c.category), hasCountry: contact.country !== null };
}

/** Runs `fn` in a read-only REPEATABLE READ transaction with the statement timeout, in UTC. */
async function readOnly<T>(pool: Pool, opts: AffectedRunOptions, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${Math.floor(opts.statementTimeoutMs)}; SET LOCAL TimeZone = 'UTC'; SET LOCAL work_mem = '64MB'`,
    );
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    // Class 22 (data exception): a scope value that does not fit its column (e.g. an impossible date).
    if (typeof (err as { code?: unknown }).code === "string" && (err as { code: string }).code.startsWith("22")) {
      throw new BreachInputError("scope", [{ field: "scope", message: "a value does not fit its column's type" }]);
    }
    throw err;
  } finally {
    client.release();
  }
}

const num = (v: unknown): number => Number(v ?? 0);

function recordsAndCategories(
  store: string,
  table: string,
  categories: string[],
  row: { records: unknown; records_by_cat: unknown[] },
  peopleByCat: number[],
): Pick<AffectedCounts, "records" | "categories"> {
  const out: AffectedCounts["categories"] = {};
  categories.forEach((c, i) => (out[c] = { records: num(row.records_by_cat[i]), people: peopleByCat[i] ?? 0 }));
  return { records: { [`${store}.${table}`]: num(row.records) }, categories: out };
}

/** The postgres kind's {@link AffectedLocator} for `store` (the subject's store). */
export function postgresAffectedLocator(store: string, deps: StoreDeps): AffectedLocator {
  let plan: Promise<StorePlan> | undefined;
  const planOf = (): Promise<StorePlan> => {
    if (deps.dataMap.subject.store !== store) {
      return Promise.reject(
        new BreachInputError("scope", [
          { field: "scope.store", message: `store "${store}" does not hold the subject table; Lethe cannot walk from its rows to people` },
        ]),
      );
    }
    plan ??= deps.pools.schema(store).then((schema) => buildStorePlan(deps.dataMap, store, schema));
    plan.catch(() => (plan = undefined));
    return plan;
  };
  return {
    async count(scope, opts) {
      const c = compile(await planOf(), deps.dataMap, scope);
      return readOnly(deps.pools.pool(store), opts, async (client) => {
        const row = (await client.query({ text: c.sql.count, values: c.sql.params })).rows[0] as {
          records: unknown;
          records_by_cat: unknown[];
          people: unknown;
          people_by_cat: unknown[];
          no_contact: unknown;
          countries: Record<string, unknown> | null;
        };
        return {
          people: num(row.people),
          peopleWithoutContact: num(row.no_contact),
          ...recordsAndCategories(store, c.table, c.categories, row, row.people_by_cat.map(num)),
          countries: c.hasCountry ? Object.fromEntries(Object.entries(row.countries ?? {}).map(([k, v]) => [k, num(v)])) : null,
        };
      });
    },
    async collect(scope, onBatch, opts) {
      const c = compile(await planOf(), deps.dataMap, scope);
      const batch = opts.batchSize ?? 5000;
      return readOnly(deps.pools.pool(store), opts, async (client) => {
        const records = (await client.query({ text: c.sql.records, values: c.sql.params })).rows[0] as { records: unknown; records_by_cat: unknown[] };
        await client.query({ text: `DECLARE lethe_affected NO SCROLL CURSOR FOR ${c.sql.people}`, values: c.sql.params });
        const peopleByCat = c.categories.map(() => 0);
        const countries = new Map<string, number>();
        let people = 0;
        let withoutContact = 0;
        for (;;) {
          opts.signal?.throwIfAborted();
          const rows = (await client.query(`FETCH ${batch} FROM lethe_affected`)).rows as Array<AffectedPerson & { m: string }>;
          if (rows.length === 0) break;
          for (const r of rows) {
            people++;
            if (r.email === null) withoutContact++;
            const m = BigInt(r.m);
            c.categories.forEach((_, i) => {
              if ((m >> BigInt(i)) & 1n) peopleByCat[i]!++;
            });
            if (c.hasCountry) countries.set(r.country ?? "", (countries.get(r.country ?? "") ?? 0) + 1);
          }
          await onBatch(rows.map((r) => ({ key: r.key, email: r.email, locale: r.locale, country: r.country })));
        }
        await client.query("CLOSE lethe_affected");
        return {
          people,
          peopleWithoutContact: withoutContact,
          ...recordsAndCategories(store, c.table, c.categories, records, peopleByCat),
          countries: c.hasCountry ? Object.fromEntries(countries) : null,
        };
      });
    },
  };
}
