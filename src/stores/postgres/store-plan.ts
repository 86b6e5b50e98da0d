import type { DataMap } from "../../datamap/schema";
import type { PostgresStoreSpec, TableSpec } from "./schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import { isBoundaryTable, linksOf, reachableTables, type Link } from "./graph";
import { isOthersTable } from "./schema";
import type { SchemaInfo, TableInfo } from "./introspect";

/** One declared table as the planner sees it: its declaration and its live shape. */
export interface PlannedTable {
  name: string;
  spec: TableSpec;
  info: TableInfo;
}

/**
 * The static part of a Postgres store's erasure: which tables take part, the links between
 * them, and the order of changes (a table before the tables it references). Built once per
 * process from the data map and the live schema; each request then only collects rows.
 */
export interface StorePlan {
  store: string;
  spec: PostgresStoreSpec;
  schemaName: string;
  /** The live schema (every table, planned or not). */
  schema: SchemaInfo;
  subjectTable: string;
  tables: Map<string, PlannedTable>;
  /** Links among planned tables (FKs and `via`), self-links excluded. */
  links: Link[];
  /** Every FK of the schema that points into a planned table (self-links included): for the shared check. */
  inbound: Map<string, Link[]>;
  /** Change order: dependents before the rows they reference. */
  order: string[];
}

/** Builds the {@link StorePlan} of the subject store. Problems are permanent (fix the data map). */
export function buildStorePlan(map: DataMap, store: string, schema: SchemaInfo): StorePlan {
  const spec = map.stores[store];
  if (!spec || spec.kind !== "postgres") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a postgres store`);
  const allLinks = linksOf(schema, spec, map.subject);
  const reach = reachableTables(map.subject.table, allLinks, (t) => isBoundaryTable(spec, t));
  const tables = new Map<string, PlannedTable>();
  for (const [name, tableSpec] of Object.entries(spec.tables)) {
    // Other people's tables take no part: their rows are never changed or exported, and their
    // references (inbound links from unplanned tables) make a referenced row shared.
    if (isOthersTable(tableSpec)) continue;
    const info = schema.tables.get(name);
    if (!info) throw new PermanentError(ERROR_CODES.dataMapInvalid, `stores.${store}.tables.${name}: table does not exist (run lethe check)`);
    if (!reach.has(name))
      throw new PermanentError(ERROR_CODES.dataMapInvalid, `stores.${store}.tables.${name}: not reachable from the subject (run lethe check)`);
    tables.set(name, { name, spec: tableSpec, info });
  }
  const links = allLinks.filter((l) => l.from.table !== l.to.table && tables.has(l.from.table) && tables.has(l.to.table));
  const inbound = new Map<string, Link[]>();
  for (const l of allLinks) {
    if (!tables.has(l.to.table) || !schema.tables.has(l.from.table)) continue;
    inbound.set(l.to.table, [...(inbound.get(l.to.table) ?? []), l]);
  }
  return {
    store,
    spec,
    schemaName: spec.schema,
    schema,
    subjectTable: map.subject.table,
    tables,
    links,
    inbound,
    order: changeOrder([...tables.keys()], links),
  };
}

/** Topological order: a table comes before every table it references. Cycles keep declaration order. */
function changeOrder(tables: string[], links: Link[]): string[] {
  const refs = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  for (const l of links) refs.get(l.to.table)!.add(l.from.table);
  const order: string[] = [];
  const done = new Set<string>();
  const remaining = [...tables];
  while (remaining.length > 0) {
    const next = remaining.find((t) => [...refs.get(t)!].every((r) => done.has(r))) ?? remaining[0]!;
    order.push(next);
    done.add(next);
    remaining.splice(remaining.indexOf(next), 1);
  }
  return order;
}
