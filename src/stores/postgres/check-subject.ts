import type { DataMap } from "../../datamap/schema";
import { identitySpecs } from "../../subject/identity-match";
import type { AddProblem } from "./check-rules";
import type { TableInfo } from "./introspect";

/**
 * The subject table's columns: the key exists and is unique; each identity exists and is unique
 * the way it is compared (`exact`: a UNIQUE column; `normalized`: a UNIQUE column or a unique
 * index on `lower(btrim(column))` — rows that still collide after normalisation make a request
 * fail with `subject_ambiguous`, never a guess); the contact columns exist (no uniqueness needed).
 */
export function checkSubject(map: DataMap, info: TableInfo, add: AddProblem): void {
  const { table, key } = map.subject;
  const keyCol = info.columns.get(key);
  if (!keyCol) {
    add("subject.key", "missing-column", `subject key column "${table}.${key}" does not exist`);
  } else if (!keyCol.isUnique) {
    add("subject.key", "subject-key-not-unique", `subject key column "${table}.${key}" is not a primary key or UNIQUE, so one key could name several subjects`);
  }
  for (const { name: identity, column, match } of identitySpecs(map.subject)) {
    const col = info.columns.get(column);
    if (!col) {
      add(`subject.identities.${identity}`, "missing-column", `identity column "${table}.${column}" does not exist`);
    } else if (!col.isUnique && !(match === "normalized" && col.isUniqueNormalized)) {
      const index = match === "normalized" ? `a unique index (e.g. on lower(btrim(${column})))` : "a unique index";
      add(
        `subject.identities.${identity}`,
        "identity-not-unique",
        `identity column "${table}.${column}" is not unique, so a request by ${identity} could match several subjects; add ${index}, or remove the identity (mail needs no identity: declare subject.contact.email)`,
      );
    }
  }
  for (const [what, column] of Object.entries(map.subject.contact ?? {})) {
    if (column !== undefined && !info.columns.has(column))
      add(`subject.contact.${what}`, "missing-column", `contact column "${table}.${column}" does not exist`);
  }
}
