import { nodesOf, type PathNode } from "./affected-paths";
import { qualified, quoteIdent } from "./ident";
import { matchedColumnSql } from "./identity-sql";
import type { StorePlan } from "./store-plan";

/**
 * The SQL of a breach scope's resolution, compiled from the path tree: one statement of CTEs,
 * set-based, read-only. `b` holds the breached rows (only the columns the hops need) with a bit
 * mask of the data categories each row holds; each node of the tree joins the rows of its table
 * to its parent's distinct link values, carrying the OR of the masks; `people` unions the subject
 * keys of every path. Identifiers come from the validated map and the catalog (quoted); values
 * are bound parameters of the scope's predicate.
 */

/** The breached table's rows: `WHERE <where>` on alias `t`, with `params` ($1…). */
export interface ScopePredicate {
  where: string;
  params: unknown[];
}

/** Columns of the subject table the freeze reads, as the data map names them. */
export interface ContactColumns {
  email: string | null;
  locale: string | null;
  country: string | null;
}

/** What the compiler needs besides the tree. */
export interface AffectedSqlInput {
  plan: StorePlan;
  root: PathNode;
  predicate: ScopePredicate;
  /** Category → columns of the breached table holding it (bit i = categories[i]). */
  categories: Array<{ category: string; columns: string[] }>;
  subjectKey: string;
  contact: ContactColumns;
}

/** The compiled statements. */
export interface AffectedSql {
  /** One row: records, records_by_cat, people, people_by_cat, no_contact, countries (jsonb or null). */
  count: string;
  /** One row: records, records_by_cat (the breached rows only). */
  records: string;
  /** Rows: key, m (mask), email, locale, country — every affected person once. */
  people: string;
  params: unknown[];
}

const q = quoteIdent;

/** The mask expression of a row of the breached table (alias `t`). */
function maskSql(categories: AffectedSqlInput["categories"]): string {
  if (categories.length === 0) return "0::bigint";
  return categories
    .map((c, i) => `(CASE WHEN ${c.columns.map((col) => `t.${q(col)} IS NOT NULL`).join(" OR ")} THEN ${2n ** BigInt(i)} ELSE 0 END)::bigint`)
    .join(" | ");
}

/** `x = y` for one column pair of a hop: the same type compares directly, else as text; a normalized `via` compares lower(btrim()). */
function eq(plan: StorePlan, node: PathNode, i: number): string {
  const hop = node.hop!;
  const hereTable = hop.direction === "up" ? hop.link.from.table : hop.link.to.table;
  const a = hop.there[i]!;
  const b = hop.here[i]!;
  const typeA = plan.schema.tables.get(node.table)?.columns.get(a)?.sqlType;
  const typeB = plan.schema.tables.get(hereTable)?.columns.get(b)?.sqlType;
  if (hop.link.match === "normalized") return `${matchedColumnSql(`y.${q(a)}`, "normalized")} = ${matchedColumnSql(`x.${q(b)}`, "normalized")}`;
  if (typeA !== undefined && typeA === typeB) return `y.${q(a)} = x.${q(b)}`;
  return `y.${q(a)}::text = x.${q(b)}::text`;
}

/** The columns a node's rows must carry: what its children join on, and the key at the subject table. */
function carryOf(node: PathNode, subjectKey: string): string[] {
  const cols = new Set<string>();
  for (const c of node.children) c.hop!.here.forEach((col) => cols.add(col));
  if (node.terminal) cols.add(subjectKey);
  return [...cols];
}

const alias = (n: PathNode): string => (n.hop === null ? "b" : `n${n.id}`);

/** Compiles the three statements (see {@link AffectedSql}). */
export function compileAffectedSql(input: AffectedSqlInput): AffectedSql {
  const { plan, root, predicate, categories, subjectKey, contact } = input;
  const schema = plan.schemaName;
  const nodes = nodesOf(root);
  const rootCarry = carryOf(root, subjectKey);
  const ctes: string[] = [
    `b AS MATERIALIZED (SELECT ${[...rootCarry.map((c) => `t.${q(c)}`), `${maskSql(categories)} AS m`].join(", ")}
       FROM ${qualified(schema, root.table)} AS t WHERE ${predicate.where})`,
  ];
  for (const node of nodes) {
    if (node.hop === null) continue;
    const parent = nodes.find((p) => p.children.includes(node))!;
    const here = node.hop.here;
    const carry = carryOf(node, subjectKey);
    const grouped = `SELECT ${here.map((c) => q(c)).join(", ")}, bit_or(m) AS m FROM ${alias(parent)}
                      WHERE ${here.map((c) => `${q(c)} IS NOT NULL`).join(" AND ")} GROUP BY ${here.map((c) => q(c)).join(", ")}`;
    const on = here.map((_, i) => eq(plan, node, i)).join(" AND ");
    ctes.push(
      `${alias(node)} AS (SELECT ${[...carry.map((c) => `y.${q(c)}`), "bit_or(x.m) AS m"].join(", ")}
         FROM ${qualified(schema, node.table)} AS y JOIN (${grouped}) AS x ON ${on}
         GROUP BY ${carry.map((c) => `y.${q(c)}`).join(", ")})`,
    );
  }
  const terminals = nodes.filter((n) => n.terminal);
  ctes.push(
    `people AS MATERIALIZED (SELECT k, bit_or(m) AS m FROM (${terminals.map((n) => `SELECT ${q(subjectKey)} AS k, m FROM ${alias(n)}`).join(" UNION ALL ")}) AS u GROUP BY k)`,
  );
  const bits = categories.map((_, i) => 2n ** BigInt(i));
  const byCat = (col: string, table: string) =>
    bits.length === 0 ? "ARRAY[]::bigint[]" : `ARRAY[${bits.map((bit) => `count(*) FILTER (WHERE ${table}.${col} & ${bit} <> 0)`).join(", ")}]::bigint[]`;
  const subject = qualified(schema, plan.subjectTable);
  const join = `JOIN ${subject} AS s ON s.${q(subjectKey)} = p.k`;
  const col = (c: string | null) => (c === null ? "NULL::text" : `s.${q(c)}::text`);
  const countries =
    contact.country === null
      ? "NULL::jsonb"
      : `(SELECT jsonb_object_agg(c, n) FROM (SELECT coalesce(${col(contact.country)}, '') AS c, count(*) AS n FROM people p ${join} GROUP BY 1) AS z)`;
  const noContact = contact.email === null ? "(SELECT count(*) FROM people)" : `(SELECT count(*) FROM people p ${join} WHERE ${col(contact.email)} IS NULL)`;
  const withCtes = `WITH ${ctes.join(",\n")}`;
  const recordsSelect = `SELECT count(*)::bigint AS records, ${byCat("m", "b")} AS records_by_cat FROM b`;
  return {
    count: `${withCtes}
      SELECT r.records, r.records_by_cat, p.people, p.people_by_cat, ${noContact}::bigint AS no_contact, ${countries} AS countries
        FROM (${recordsSelect}) AS r, (SELECT count(*)::bigint AS people, ${byCat("m", "people")} AS people_by_cat FROM people) AS p`,
    records: `WITH ${ctes[0]} ${recordsSelect}`,
    people: `${withCtes}
      SELECT p.k::text AS key, p.m::text AS m, ${col(contact.email)} AS email, ${col(contact.locale)} AS locale, ${col(contact.country)} AS country
        FROM people p ${join}`,
    params: predicate.params,
  };
}
