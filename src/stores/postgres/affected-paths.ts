import type { Link } from "./graph";
import type { StorePlan } from "./store-plan";

/**
 * The ways from breached rows to the people they belong to, read off the store plan (the same
 * links an erasure and an export follow: foreign keys both ways and `via` links; partitions are
 * their parent table). It is the erasure's "rows of the subject" relation walked backwards:
 *
 * - a row belongs to the owner of a row it references, when it is owned through that link (an
 *   order item → its order → the customer): an **up** hop, from `link.from` to `link.to`;
 * - a row of personal data belongs to everyone whose rows reference it (a shared address → each
 *   customer pointing at it): a **down** hop, from `link.to` to `link.from`. A table without
 *   personal fields is not left downwards (a product the customer bought tells nothing about them).
 *
 * A path takes down hops, then up hops (once owned, a row is reached only by owned links), never
 * visits a table twice, never enters a table whose rows are other people's (`owner: "others"`:
 * not in the plan), and ends at the subject table. Paths share prefixes: they form a tree of {@link PathNode}s.
 */

/** One hop: from the rows of the node above to the rows of `table` whose `there` columns hold the `here` values. */
export interface Hop {
  link: Link;
  direction: "up" | "down";
  /** Columns of the table left. */
  here: string[];
  /** Columns of `table` that hold the same values. */
  there: string[];
}

/** A node of the path tree: rows of `table`, reached by `hop` from the parent (none at the root). */
export interface PathNode {
  id: number;
  table: string;
  owned: boolean;
  hop: Hop | null;
  children: PathNode[];
  /** `table` is the subject table: these rows are people. */
  terminal: boolean;
}

/** The most nodes a path tree may have; a map needing more is refused with a clear message. */
export const MAX_PATH_NODES = 200;

/** Thrown when a table cannot lead to people or the tree grows too large; the message names tables only. */
export class AffectedPathError extends Error {
  override readonly name = "AffectedPathError";
}

/** Whether a table declares personal fields (a field with a category). */
export function hasPersonalFields(plan: StorePlan, table: string): boolean {
  const spec = plan.tables.get(table)?.spec;
  return spec !== undefined && Object.values(spec.fields).some((f) => "category" in f);
}

/**
 * The path tree from the rows of `table` to the subject table. Throws {@link AffectedPathError}
 * when no path exists (the rows lead to nobody) or the tree exceeds {@link MAX_PATH_NODES}.
 */
export function affectedPaths(plan: StorePlan, table: string): PathNode {
  let nextId = 0;
  const hopsFrom = (t: string, owned: boolean): Array<{ hop: Hop; table: string }> => {
    const out: Array<{ hop: Hop; table: string }> = [];
    for (const link of plan.links) {
      if (link.from.table === t) out.push({ hop: { link, direction: "up", here: link.from.columns, there: link.to.columns }, table: link.to.table });
      if (!owned && link.to.table === t && hasPersonalFields(plan, t)) {
        out.push({ hop: { link, direction: "down", here: link.to.columns, there: link.from.columns }, table: link.from.table });
      }
    }
    // Only planned tables: `owner: "others"` tables, ignored and undeclared ones are not the subject's.
    return out.filter((h) => plan.tables.has(h.table));
  };
  /** Builds the subtree below (t, owned), or null when no path from it reaches the subject table. */
  const build = (t: string, owned: boolean, hop: Hop | null, visited: ReadonlySet<string>): PathNode | null => {
    const node: PathNode = { id: nextId++, table: t, owned, hop, children: [], terminal: t === plan.subjectTable };
    if (nextId > MAX_PATH_NODES) {
      throw new AffectedPathError(`the links from table "${table}" to the subject table form more than ${MAX_PATH_NODES} paths; scope a table closer to it`);
    }
    if (node.terminal) return node;
    const seen = new Set(visited).add(t);
    for (const next of hopsFrom(t, owned)) {
      if (seen.has(next.table)) continue;
      const child = build(next.table, owned || next.hop.direction === "up", next.hop, seen);
      if (child) node.children.push(child);
    }
    return node.children.length > 0 ? node : null;
  };
  const root = build(table, false, null, new Set());
  if (!root)
    throw new AffectedPathError(`no link leads from table "${table}" to the subject table "${plan.subjectTable}": its rows belong to nobody Lethe knows`);
  return root;
}

/** Every node of the tree, parents before children. */
export function nodesOf(root: PathNode): PathNode[] {
  const out: PathNode[] = [];
  const walk = (n: PathNode): void => {
    out.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}
