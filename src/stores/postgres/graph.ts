import { matchOfColumn, type MatchRule, type SubjectIdentities } from "../../subject/identity-match";
import { isOthersTable, type PostgresStoreSpec } from "./schema";
import type { SchemaInfo } from "./introspect";

/**
 * A link between two tables: `from.columns` of `from.table` hold values of `to.columns` of
 * `to.table`. A foreign key, or a declared `via` for a link the schema does not enforce.
 */
export interface Link {
  kind: "fk" | "via";
  /** Constraint name, or `via:<table>.<column>`. */
  name: string;
  from: { table: string; columns: string[] };
  to: { table: string; columns: string[] };
  /** How the two sides' values are compared (`subject/identity-match`); foreign keys: `exact`. */
  match: MatchRule;
}

/** A `via` declaration as the link builder reads it. */
export interface ViaLike {
  column: string;
  references: { table: string; column: string };
  match?: MatchRule | undefined;
}

/** The subject as the link builder needs it: its table, key and identities (for a `via`'s default rule). */
export type LinkSubject = SubjectIdentities & { table: string };

/** How a table is reached from the subject table. */
export interface Reach {
  /** Rows that belong to the subject: the subject row and, recursively, rows that reference them. */
  owned: boolean;
  /** Rows the subject's rows point to (e.g. an address): erased only when nobody else uses them. */
  referenced: boolean;
  /** Table names from the subject to here, for messages. */
  path: string[];
}

/**
 * The rule a `via` compares by: its own `match`, else the rule of the subject identity held in the
 * referenced column (a link to `customers.email` compares emails normalised), else `exact`.
 */
export function viaMatch(via: ViaLike, subject?: LinkSubject): MatchRule {
  if (via.match) return via.match;
  if (subject && via.references.table === subject.table) return matchOfColumn(subject, via.references.column) ?? "exact";
  return "exact";
}

/**
 * The foreign keys of the live schema (partitions folded into their parent by `introspect`) plus
 * the store's `via` links, each with its match rule (`subject` gives a `via` its default).
 */
export function linksOf(schema: SchemaInfo, store: { tables: Readonly<Record<string, { via: readonly ViaLike[] }>> }, subject?: LinkSubject): Link[] {
  const links: Link[] = schema.foreignKeys.map((fk) => ({ kind: "fk", name: fk.name, from: fk.from, to: fk.to, match: "exact" }));
  for (const [table, spec] of Object.entries(store.tables)) {
    for (const via of spec.via) {
      links.push({
        kind: "via",
        name: `via:${table}.${via.column}`,
        from: { table, columns: [via.column] },
        to: { table: via.references.table, columns: [via.references.column] },
        match: viaMatch(via, subject),
      });
    }
  }
  return links;
}

/**
 * Tables whose rows are never the subject's and where discovery stops: undeclared, ignored, and
 * `owner: "others"` tables (staff, suppliers, shops). Their references make a row shared.
 */
export function isBoundaryTable(store: Pick<PostgresStoreSpec, "tables" | "ignore">, table: string): boolean {
  const spec = store.tables[table];
  return spec === undefined || table in store.ignore || isOthersTable(spec);
}

/**
 * Tables where the subject can have rows, starting at `subjectTable`. Owned tables expand both
 * ways (their dependents are owned, what they reference is referenced); referenced tables
 * expand only along their own outgoing links (a warehouse that uses the same address is not the
 * subject's). A table for which `isBoundary` is true (ignored or undeclared) is reported but
 * not expanded. Self-links are not followed.
 */
export function reachableTables(subjectTable: string, links: readonly Link[], isBoundary: (table: string) => boolean): Map<string, Reach> {
  const reached = new Map<string, Reach>([[subjectTable, { owned: true, referenced: false, path: [subjectTable] }]]);
  const queue: string[] = [subjectTable];
  const mark = (table: string, how: "owned" | "referenced", path: string[]): void => {
    const r = reached.get(table);
    if (r?.[how]) return;
    if (r) r[how] = true;
    else reached.set(table, { owned: how === "owned", referenced: how === "referenced", path: [...path, table] });
    if (!isBoundary(table)) queue.push(table);
  };
  while (queue.length > 0) {
    const table = queue.shift()!;
    const r = reached.get(table)!;
    for (const link of links) {
      if (link.from.table === link.to.table) continue;
      if (link.from.table === table) mark(link.to.table, "referenced", r.path);
      if (r.owned && link.to.table === table) mark(link.from.table, "owned", r.path);
    }
  }
  return reached;
}
