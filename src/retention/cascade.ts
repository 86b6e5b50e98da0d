import type { DataMap } from "../datamap/schema";
import type { RetentionPolicy } from "../datamap/retention-policy";
import { linksOf, type Link } from "../stores/postgres/graph";
import type { SchemaInfo } from "../stores/postgres/introspect";
import { isOthersTable, type Mask, type PostgresStoreSpec } from "../stores/postgres/schema";

/**
 * What a sweep does to the rows linked to the rows it sweeps — erasure's reach. The planner's
 * links (foreign keys of the live schema with partitions folded into their parent, plus declared
 * `via` links with their identity match rules) are followed from the swept table to every
 * dependent, recursively:
 *
 * - `delete` policy ("erase" mode): a dependent declared `delete` (or reached through an FK with
 *   `ON DELETE CASCADE`) is deleted first, deepest first; a dependent declared `anonymize`/`keep`
 *   has its masked fields masked and its link columns set NULL (as an erasure detaches it). Other
 *   people's tables are never changed: a link from one blocks the delete.
 * - `anonymize` policy ("mask" mode): every declared dependent of the subject's has its masked
 *   fields masked (an erasure's masking); nothing is deleted. `linked: "leave"` (with a reason)
 *   turns this off.
 *
 * All of it runs in the batch's transaction (`sweep-batch`).
 */

/** One linked table reached from its parent through `link` (`link.from` is this table, `link.to` the parent). */
export interface CascadeNode {
  table: string;
  link: Link;
  /** `delete`: the rows are deleted; `mask`: masked (and detached, see `detach`); `none`: only walked through. */
  treatment: "delete" | "mask" | "none";
  /** Masked fields of the table (`mask` treatment). */
  masks: Array<{ column: string; mask: Mask }>;
  /** Link columns set NULL because the parent row is deleted. */
  detach: string[];
  children: CascadeNode[];
}

/** A problem that makes the cascade unsafe or incomplete (a `lethe check` problem). */
export interface CascadeProblem {
  rule: "retention-unsafe-delete" | "retention-linked-unmasked";
  message: string;
}

/** The result of {@link planCascade}. */
export interface Cascade {
  nodes: CascadeNode[];
  problems: CascadeProblem[];
}

const ON_DELETE: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

function describe(link: Link, schema: SchemaInfo): string {
  const columns = link.from.columns.map((c) => `"${link.from.table}.${c}"`).join(", ");
  if (link.kind === "via") return `${columns} (a via link)`;
  const fk = schema.foreignKeys.find((f) => f.name === link.name && f.from.table === link.from.table);
  return `${columns} (${link.name}, ON DELETE ${ON_DELETE[fk?.onDelete ?? "a"] ?? fk?.onDelete})`;
}

/** The masked and the bare (personal, unmasked, not retained) fields of a declared table. */
function fieldsOf(store: PostgresStoreSpec, table: string): { masks: Array<{ column: string; mask: Mask }>; bare: string[] } {
  const masks: Array<{ column: string; mask: Mask }> = [];
  const bare: string[] = [];
  for (const [column, field] of Object.entries(store.tables[table]?.fields ?? {})) {
    if (!("category" in field)) continue;
    if (field.mask) masks.push({ column, mask: field.mask });
    else if (!field.retain) bare.push(column);
  }
  return { masks, bare };
}

/**
 * Plans the cascade of `policy` from its table through every dependent the planner knows. Pure;
 * `lethe check` reports its problems, the sweep refuses to run with any.
 */
export function planCascade(map: DataMap, store: PostgresStoreSpec, schema: SchemaInfo, policy: Pick<RetentionPolicy, "table" | "action" | "linked">): Cascade {
  const problems: CascadeProblem[] = [];
  if (policy.action === "anonymize" && policy.linked === "leave") return { nodes: [], problems };
  const links = linksOf(schema, store, map.subject).filter((l) => l.from.table !== l.to.table);
  const fkOf = (l: Link) => (l.kind === "fk" ? schema.foreignKeys.find((f) => f.name === l.name && f.from.table === l.from.table) : undefined);
  const erase = policy.action === "delete";

  const visit = (parent: string, parentDeleted: boolean, path: string[]): CascadeNode[] => {
    const nodes: CascadeNode[] = [];
    for (const link of links) {
      if (link.to.table !== parent) continue;
      const table = link.from.table;
      const spec = store.tables[table];
      const onDelete = fkOf(link)?.onDelete ?? "a";
      const how = () => describe(link, schema);
      if (path.includes(table)) {
        if (parentDeleted && onDelete !== "c" && onDelete !== "n") {
          problems.push({ rule: "retention-unsafe-delete", message: `"${table}" references "${parent}" through ${how()}, a cycle the sweep cannot order` });
        }
        continue;
      }
      const others = isOthersTable(spec);
      const declared = spec !== undefined && !(table in store.ignore) && !others;
      if (!declared) {
        // Undeclared, ignored or other people's tables: nothing of the subject's to mask; a delete must not break them.
        if (!parentDeleted) continue;
        if (others) {
          problems.push({
            rule: "retention-unsafe-delete",
            message: `"${table}" holds other people's data (owner "others") and references "${parent}" through ${how()}; a sweep never changes other people's rows, so deleting "${parent}" rows would ${onDelete === "c" ? "delete" : onDelete === "n" ? "change" : "orphan or break"} them`,
          });
          continue;
        }
        if (onDelete === "n") {
          const notNull = link.from.columns.filter((c) => schema.tables.get(table)?.columns.get(c)?.isNullable === false);
          if (notNull.length > 0)
            problems.push({ rule: "retention-unsafe-delete", message: `"${table}" references "${parent}" through ${how()}, but the column is NOT NULL` });
          continue;
        }
        if (onDelete === "c") {
          nodes.push({ table, link, treatment: "delete", masks: [], detach: [], children: visit(table, true, [...path, table]) });
          continue;
        }
        problems.push({
          rule: "retention-unsafe-delete",
          message: `"${table}" (${spec === undefined ? "not declared in the data map" : "ignored"}) references "${parent}" through ${how()}; declare "${table}" with action "delete", or give the foreign key ON DELETE CASCADE or SET NULL`,
        });
        continue;
      }
      const { masks, bare } = fieldsOf(store, table);
      const deleted = parentDeleted && (spec.action === "delete" || onDelete === "c");
      if (erase && deleted) {
        nodes.push({ table, link, treatment: "delete", masks: [], detach: [], children: visit(table, true, [...path, table]) });
        continue;
      }
      // Kept rows (erase mode) or any linked rows (mask mode): masked as an erasure masks them.
      let detach: string[] = [];
      if (parentDeleted) {
        const masked = new Set(masks.map((m) => m.column));
        const pointing = link.from.columns.filter((c) => !(link.kind === "via" && masked.has(c)));
        const notNull = pointing.filter((c) => schema.tables.get(table)?.columns.get(c)?.isNullable === false);
        if (notNull.length > 0 && onDelete !== "c") {
          problems.push({
            rule: "retention-unsafe-delete",
            message: `"${table}" (action "${spec.action}") references "${parent}" through ${how()}, and the column is NOT NULL, so its rows cannot let go of deleted "${parent}" rows; declare "${table}" with action "delete", or make the column nullable`,
          });
        }
        detach = pointing;
      }
      for (const column of bare) {
        problems.push({
          rule: "retention-linked-unmasked",
          message: `the sweep reaches "${table}" (linked to "${parent}" through ${how()}), but its personal field "${table}.${column}" has no mask, so the same person's data would stay there; give it a mask (or "retain": true)${erase ? "" : ', or declare "linked": "leave" with a reason'}`,
        });
      }
      const children = visit(table, false, [...path, table]);
      const treatment = masks.length > 0 || detach.length > 0 ? "mask" : "none";
      if (treatment === "none" && children.length === 0) continue;
      nodes.push({ table, link, treatment, masks, detach, children });
    }
    return nodes;
  };
  return { nodes: visit(policy.table, erase, [policy.table]), problems };
}

/** Every node of a cascade, parents before children (pre-order). */
export function preOrder(nodes: readonly CascadeNode[]): CascadeNode[] {
  return nodes.flatMap((n) => [n, ...preOrder(n.children)]);
}

/** Every node of a cascade, children before parents (post-order): the order changes are made in. */
export function postOrder(nodes: readonly CascadeNode[]): CascadeNode[] {
  return nodes.flatMap((n) => [...postOrder(n.children), n]);
}
