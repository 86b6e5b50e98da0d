import { ageSources, describeAgeSource, type Age } from "../datamap/retention-policy";
import type { DataMap } from "../datamap/schema";
import { linksOf, type Link } from "../stores/postgres/graph";
import type { ColumnInfo, SchemaInfo } from "../stores/postgres/introspect";
import type { PostgresStoreSpec } from "../stores/postgres/schema";

/**
 * A policy's age, resolved against the data map and the live schema: each source becomes a
 * column of the swept table or an aggregate over a table linked to it directly (a foreign key or
 * a `via`, either direction, with the link's match rule).
 */

/** One resolved age source. */
export type AgeTerm =
  | { kind: "column"; column: ColumnInfo }
  | {
      kind: "aggregate";
      fn: "max" | "min";
      /** The linked table. */
      table: string;
      column: ColumnInfo;
      /** The link between the swept table and `table`. */
      link: Link;
      /** Columns of the linked table and of the swept table the link compares, pairwise. */
      linkedColumns: string[];
      sweptColumns: string[];
    };

/** A problem with the age of a policy: the key below the policy (`.age.max`, `.age.greatest.1.column`) and the rule. */
export interface AgeProblem {
  key: string;
  rule: "missing-column" | "missing-table" | "retention-age-not-temporal" | "retention-age-unlinked";
  message: string;
}

const temporal = (c: ColumnInfo) => c.family === "date" || c.family === "timestamp";

/** Resolves the age of a policy on `table`; problems instead of terms when something does not fit. */
export function resolveAge(map: DataMap, store: PostgresStoreSpec, schema: SchemaInfo, table: string, age: Age): { terms: AgeTerm[]; problems: AgeProblem[] } {
  const problems: AgeProblem[] = [];
  const terms: AgeTerm[] = [];
  const info = schema.tables.get(table);
  if (!info) return { terms, problems };
  const links = linksOf(schema, store, map.subject).filter((l) => l.from.table !== l.to.table);
  ageSources(age).forEach((source, i) => {
    const base = age.greatest ? `.age.greatest.${i}` : ".age";
    if ("column" in source) {
      const key = `${base}.column`;
      const column = info.columns.get(source.column);
      if (!column) problems.push({ key, rule: "missing-column", message: `column "${table}.${source.column}" does not exist` });
      else if (!temporal(column))
        problems.push({
          key,
          rule: "retention-age-not-temporal",
          message: `column "${table}.${source.column}" is ${column.sqlType}; the age needs a date or timestamp column`,
        });
      else terms.push({ kind: "column", column });
      return;
    }
    const fn = "max" in source ? "max" : "min";
    const ref = "max" in source ? source.max : source.min;
    const key = `${base}.${fn}`;
    const [other, col] = ref.split(".") as [string, string];
    const otherInfo = schema.tables.get(other);
    if (!otherInfo) {
      problems.push({ key, rule: "missing-table", message: `table "${schema.schema}.${other}" does not exist` });
      return;
    }
    const column = otherInfo.columns.get(col);
    if (!column) {
      problems.push({ key, rule: "missing-column", message: `column "${ref}" does not exist` });
      return;
    }
    if (!temporal(column)) {
      problems.push({ key, rule: "retention-age-not-temporal", message: `column "${ref}" is ${column.sqlType}; the age needs a date or timestamp column` });
      return;
    }
    const between = links.filter((l) => (l.from.table === other && l.to.table === table) || (l.from.table === table && l.to.table === other));
    if (between.length !== 1) {
      problems.push({
        key,
        rule: "retention-age-unlinked",
        message:
          between.length === 0
            ? `${describeAgeSource(source)} needs "${other}" linked directly to "${table}" (a foreign key or a via link), and there is none`
            : `"${other}" and "${table}" are linked ${between.length} ways (${between.map((l) => l.name).join(", ")}), so ${describeAgeSource(source)} is ambiguous`,
      });
      return;
    }
    const link = between[0]!;
    const linkedIsFrom = link.from.table === other;
    terms.push({
      kind: "aggregate",
      fn,
      table: other,
      column,
      link,
      linkedColumns: linkedIsFrom ? link.from.columns : link.to.columns,
      sweptColumns: linkedIsFrom ? link.to.columns : link.from.columns,
    });
  });
  return { terms, problems };
}
