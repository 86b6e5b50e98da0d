import type { AddProblem } from "./check-rules";
import type { OverlapResult } from "./identity-overlap";
import { isDeclaredLink, type ReferenceColumn } from "./reference-columns";
import type { PostgresStoreSpec } from "./schema";

/**
 * Fail closed on links nobody declared: every column that looks like a reference to a mapped
 * table (by name) or holds the subject's identity values (by a sample) is a `via` link or
 * dismissed in `notLinks` with the reason. Columns the sample could not decide fail too.
 */
export function checkUnlinkedReferences(
  at: string,
  store: PostgresStoreSpec,
  byName: readonly ReferenceColumn[],
  byValues: OverlapResult | null,
  add: AddProblem,
): void {
  const seen = new Set<string>();
  for (const ref of [...byName, ...(byValues?.found ?? [])]) {
    const key = `${ref.table}.${ref.column}`;
    if (seen.has(key) || isDeclaredLink(store, ref.table, ref.column)) continue;
    seen.add(key);
    const why =
      ref.by === "name"
        ? `is named like a reference to "${ref.references.table}.${ref.references.column}" but has no foreign key`
        : `holds values of the subject's ${ref.identity === "contact" ? "contact email" : `identity "${ref.identity}"`} (a sample of its rows overlaps "${ref.references.table}.${ref.references.column}") but is not linked`;
    const via = JSON.stringify({ column: ref.column, references: ref.references });
    add(
      `${at}.tables.${ref.table}.via`,
      "unlinked-reference",
      `column "${key}" ${why}; declare the link in ${at}.tables.${ref.table}.via (${via}), or dismiss it in ${at}.notLinks ("${key}": "<why it is not a link>")`,
    );
  }
  for (const u of byValues?.undecided ?? []) {
    const key = `${u.table}.${u.column}`;
    if (seen.has(key)) continue;
    seen.add(key);
    add(
      `${at}.tables.${u.table}.via`,
      "unlinked-reference",
      `column "${key}" could not be checked for the subject's identity values (${u.reason}); declare it a via link or dismiss it in ${at}.notLinks with the reason`,
    );
  }
}
