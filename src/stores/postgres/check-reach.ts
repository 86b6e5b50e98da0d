import type { DataMap } from "../../datamap/schema";
import type { AddProblem } from "./check-rules";
import { isBoundaryTable, linksOf, reachableTables, type Reach } from "./graph";
import type { SchemaInfo } from "./introspect";
import { isOthersTable, type PostgresStoreSpec, type TableSpec } from "./schema";

/**
 * How the subject reaches the store's tables, and the rules that depend on it: every reached
 * table is declared or ignored; every declared subject table is reached; a table reached only
 * through the subject's outgoing references (an address, a shop, an employee) is changed only
 * when declared `owner: "subject"`; a kept table of that kind warns that exports would hold its
 * personal fields. Returns the reach (for the orphaning rule).
 */
export function checkReach(map: DataMap, at: string, store: PostgresStoreSpec, schema: SchemaInfo, add: AddProblem): Map<string, Reach> {
  const subjectTable = map.subject.table;
  const reached = reachableTables(subjectTable, linksOf(schema, store, map.subject), (t) => isBoundaryTable(store, t));
  for (const [table, reach] of reached) {
    if (table in store.tables || table in store.ignore) continue;
    add(
      `${at}.tables.${table}`,
      "undeclared-reachable-table",
      `table "${table}" is reachable from the subject by foreign keys (${reach.path.join(" → ")}) but is neither declared nor ignored; declare it in ${at}.tables (with "owner": "others" if it holds other people's data), or add it to ${at}.ignore with the reason`,
    );
  }
  for (const [table, spec] of Object.entries(store.tables)) {
    if (isOthersTable(spec) || !schema.tables.has(table)) continue;
    const reach = reached.get(table);
    if (!reach) {
      add(
        `${at}.tables.${table}`,
        "unreachable-table",
        `table "${table}" is declared but no foreign-key path from the subject table "${subjectTable}" reaches it; add a "via" link to a declared table`,
      );
      continue;
    }
    if (reach.owned || table === subjectTable) continue;
    if (changesRows(spec) && spec.owner !== "subject") {
      add(
        `${at}.tables.${table}.owner`,
        "owner-undeclared",
        `table "${table}" is reached only through the subject's outgoing references (${reach.path.join(" → ")}), so its rows may be other people's (staff, suppliers, shops, someone else's address); an erasure ${spec.action === "delete" ? "deleting" : "masking"} them could change another person's data. Declare "owner": "others" (never changed), or "owner": "subject" if its rows are the subject's own (e.g. their address, deleted only while nobody else uses it)`,
      );
    }
    const personal = Object.entries(spec.fields).filter(([, f]) => "category" in f);
    if (spec.action === "keep" && spec.owner !== "subject" && personal.length > 0) {
      add(
        `${at}.tables.${table}`,
        "export-includes-others",
        `kept table "${table}" is reached only through the subject's outgoing references (${reach.path.join(" → ")}); an export would include its personal fields (${personal.map(([c]) => c).join(", ")}), which may be someone else's; declare "owner": "others" if it holds other people's data, or "owner": "subject" if the rows are the subject's own`,
        "warning",
      );
    }
  }
  return reached;
}

/** True when an erasure would change the table's rows: delete, anonymize, or keep with masked fields. */
function changesRows(spec: TableSpec): boolean {
  if (spec.action !== "keep") return true;
  return Object.values(spec.fields).some((f) => "category" in f && f.mask !== undefined);
}

const ON_DELETE: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/**
 * A `delete` table whose deleted rows other rows keep pointing at. A row the subject only
 * references is deleted only while nobody else references it (else it is left, reported
 * `shared`), so only two cases would really orphan a row: a row of the subject's own kept or
 * anonymized table pointing (NOT NULL) at a deleted row, and a row outside the subject's data
 * (ignored or `others` table) pointing at a row the subject owns (its dependents), through a
 * foreign key that blocks the delete — or, for an `others` table, that would change its row.
 * `reached` is null outside the subject's store, where every table counts.
 */
export function checkOrphaningDeletes(at: string, store: PostgresStoreSpec, schema: SchemaInfo, reached: Map<string, Reach> | null, add: AddProblem): void {
  for (const fk of schema.foreignKeys) {
    const target = fk.to.table;
    const source = fk.from.table;
    if (source === target || store.tables[target]?.action !== "delete" || isOthersTable(store.tables[target])) continue;
    const sourceSpec = store.tables[source];
    const notNull = fk.from.columns.filter((c) => schema.tables.get(source)?.columns.get(c)?.isNullable === false);
    const columns = (cols: string[]) => cols.map((c) => `"${source}.${c}"`).join(", ");
    const blocks = fk.onDelete === "a" || fk.onDelete === "r" || ((fk.onDelete === "n" || fk.onDelete === "d") && notNull.length > 0);
    const targetOwned = reached === null || reached.get(target)?.owned === true;
    let message: string | null = null;
    if (sourceSpec && !isOthersTable(sourceSpec) && !(source in store.ignore)) {
      if (reached && !reached.has(source)) continue;
      if (sourceSpec.action !== "delete" && notNull.length > 0) {
        message = `deleting the subject's "${target}" rows would fail or orphan the rows of table "${source}" (action ${sourceSpec.action}) that reference them through NOT NULL column ${columns(notNull)} (${fk.name}); use action "anonymize" for "${target}", or make that column nullable`;
      }
    } else if (isOthersTable(sourceSpec) && targetOwned) {
      message = `deleting the subject's "${target}" rows would ${blocks ? "fail" : "change rows of"} "others" table "${source}", which references them through ${columns(fk.from.columns)} (${fk.name}, ON DELETE ${ON_DELETE[fk.onDelete]}), and an erasure never changes other people's rows; use action "anonymize" for "${target}"`;
    } else if (source in store.ignore && targetOwned && blocks) {
      message = `deleting the subject's "${target}" rows would fail: ignored table "${source}" references them through ${columns(fk.from.columns)} (${fk.name}, ON DELETE ${ON_DELETE[fk.onDelete]}) and Lethe leaves its rows alone; declare "${source}" instead of ignoring it, or use action "anonymize" for "${target}"`;
    }
    if (message) add(`${at}.tables.${target}.action`, "orphaning-delete", message);
  }
}
