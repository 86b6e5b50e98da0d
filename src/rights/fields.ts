import type { DataMap } from "../datamap/schema";
import { shortField, subjectFieldsOf } from "../datamap/rights";
import { RequestInputError } from "../errors";
import type { FieldChange } from "../stores/rights-side";

/** Longest value a rectification accepts for one field, in characters. */
export const MAX_FIELD_VALUE = 10_000;

/**
 * A rectification's changes checked against the data map: each field a personal field of the
 * subject table (named `email` or `customers.email`), at most once, never the subject key.
 * Returns them under their short names. Errors name the field, never the value.
 */
export function rectificationChanges(map: DataMap, changes: ReadonlyArray<{ field: string; value: string | null }>): FieldChange[] {
  if (changes.length === 0) throw new RequestInputError("changes", "name at least one field to rectify");
  const fields = subjectFieldsOf(map).filter((f) => f.onSubjectTable);
  const known = new Set(fields.map((f) => f.name));
  const seen = new Set<string>();
  return changes.map((c, i) => {
    const name = shortField(map, c.field);
    if (name === map.subject.key) throw new RequestInputError(`changes.${i}.field`, "the subject key cannot be rectified");
    if (!known.has(name)) {
      throw new RequestInputError(
        `changes.${i}.field`,
        `"${c.field}" is not a personal field of the subject; the data map declares: ${[...known].join(", ") || "none"}`,
      );
    }
    if (seen.has(name)) throw new RequestInputError(`changes.${i}.field`, `"${name}" is named twice`);
    seen.add(name);
    if (c.value !== null && c.value.length > MAX_FIELD_VALUE)
      throw new RequestInputError(`changes.${i}.value`, `must be at most ${MAX_FIELD_VALUE} characters`);
    return { field: name, value: c.value };
  });
}

/** The fields a withdrawal of consent to `purpose` erases, as changes. */
export function withdrawalChanges(map: DataMap, purpose: string): FieldChange[] {
  const p = map.purposes.find((x) => x.name === purpose);
  return (p?.erasedOnWithdrawal ?? []).map((f) => ({ field: shortField(map, f), value: null, erase: true }));
}
