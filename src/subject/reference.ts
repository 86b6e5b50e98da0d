import type { DataMap } from "../datamap/schema";
import { RequestInputError } from "../errors";

/** How a request names its subject: by key (`id`) or by one identity of the data map (e.g. `email`), and the value. */
export interface SubjectRef {
  name: string;
  value: string;
}

/** Checks a request's subject (`{"id": "42"}` or `{"email": "…"}`) against the data map; returns its reference. */
export function subjectRefOf(dataMap: DataMap, subject: Record<string, string>): SubjectRef {
  const entries = Object.entries(subject);
  if (entries.length !== 1)
    throw new RequestInputError("subject", "name the subject by exactly one of: id, " + Object.keys(dataMap.subject.identities).join(", "));
  const [name, value] = entries[0]!;
  // An own property only: `toString` or `constructor` are not identities of any map.
  if (name !== "id" && !Object.hasOwn(dataMap.subject.identities, name)) {
    const known = ["id", ...Object.keys(dataMap.subject.identities)].join(", ");
    throw new RequestInputError(`subject.${name}`, `unknown identity "${name}"; the data map knows: ${known}`);
  }
  if (typeof value !== "string" || value.trim() === "") throw new RequestInputError(`subject.${name}`, "must be a non-empty string");
  return { name, value };
}
