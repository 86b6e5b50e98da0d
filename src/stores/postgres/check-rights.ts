import type { DataMap } from "../../datamap/schema";
import type { AddProblem } from "./check-rules";
import { linksOf } from "./graph";
import type { SchemaInfo } from "./introspect";
import { maskMisfit } from "./masking";
import { shortFieldName } from "./rights-fields";
import type { PostgresStoreSpec } from "./schema";

/**
 * `lethe check` rules of the other rights (`docs/rights.md`) in the subject's store: a column a
 * rectification changes outside the subject table (a `mirrors` copy) or a field a consent
 * withdrawal erases must be in a table linked directly (foreign key or `via`) to the subject table
 * — otherwise the subject's rows there cannot be told apart — and a field erased without a mask
 * must be nullable.
 */
export function checkRightsFields(map: DataMap, at: string, name: string, store: PostgresStoreSpec, schema: SchemaInfo, add: AddProblem): void {
  if (map.subject.store !== name) {
    // A rectification changes the subject's store only: a copy elsewhere would silently stay old.
    for (const [table, t] of Object.entries(store.tables)) {
      for (const [column, f] of Object.entries(t.fields)) {
        if ("category" in f && f.mirrors !== undefined) {
          add(
            `${at}.tables.${table}.fields.${column}.mirrors`,
            "rights-copy-unlinked",
            `copies are supported in the subject's store ("${map.subject.store}") only`,
          );
        }
      }
    }
    return;
  }
  const subjectTable = map.subject.table;
  const links = linksOf(schema, store, map.subject);
  const linked = (table: string): boolean => table === subjectTable || links.some((l) => l.from.table === table && l.to.table === subjectTable);
  for (const [table, t] of Object.entries(store.tables)) {
    for (const [column, f] of Object.entries(t.fields)) {
      if (!("category" in f) || f.mirrors === undefined || linked(table)) continue;
      add(
        `${at}.tables.${table}.fields.${column}.mirrors`,
        "rights-copy-unlinked",
        `table "${table}" has no direct link (foreign key or via) to the subject table "${subjectTable}": a rectification could not tell the subject's rows apart`,
      );
    }
  }
  map.purposes.forEach((p, i) => {
    p.erasedOnWithdrawal.forEach((field, j) => {
      const short = shortFieldName(subjectTable, field);
      const [table, column] = short.includes(".") ? (short.split(".") as [string, string]) : [subjectTable, short];
      const key = `purposes.${i}.erasedOnWithdrawal.${j}`;
      if (!linked(table)) {
        add(
          key,
          "rights-copy-unlinked",
          `table "${table}" has no direct link to the subject table "${subjectTable}": the subject's rows there cannot be told apart`,
        );
        return;
      }
      const info = schema.tables.get(table)?.columns.get(column);
      const declared = store.tables[table]?.fields[column];
      const mask = declared && "category" in declared ? declared.mask : undefined;
      const misfit = info ? maskMisfit(mask ?? "null", info) : null;
      if (misfit) add(key, "mask-misfit", `a withdrawal would erase "${field}": ${misfit}`);
    });
  });
}
