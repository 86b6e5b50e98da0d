import type { DataMap } from "../datamap/schema";
import { RequestInputError } from "../errors";
import type { ColumnInfo } from "../stores/postgres/introspect";
import type { StorePools } from "../stores/postgres/pools";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/**
 * Why `value` can never equal a value of the key column `column`, or null when it can: a subject
 * id of the wrong shape is refused at the API, not found failing in the worker later.
 */
export function keyValueProblem(column: ColumnInfo, value: string): string | null {
  const base = column.sqlType.replace(/\(.*$/, "").trim();
  const range = INTEGER_RANGES[base];
  if (range) {
    if (!/^-?\d{1,20}$/.test(value)) return `must be an integer (the subject key column is ${base})`;
    const n = BigInt(value);
    return n < range[0] || n > range[1] ? `must fit the subject key column's type (${base})` : null;
  }
  if (column.family === "uuid") return UUID.test(value) ? null : "must be a UUID (the subject key column is uuid)";
  if (column.family === "number") return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) ? null : `must be a number (the subject key column is ${base})`;
  if (column.maxLength !== null && [...value].length > column.maxLength)
    return `must be at most ${column.maxLength} characters (the subject key column's length)`;
  return null;
}

/**
 * Checks a request's `subject.id` against the live type of the subject key column (a postgres
 * subject store), throwing a 400-mapped {@link RequestInputError} naming `subject.id`. When the
 * store cannot be read now, the check is skipped: the worker resolves the subject anyway.
 */
export async function assertSubjectKeyFits(dataMap: DataMap, pools: StorePools | undefined, subject: Readonly<Record<string, unknown>>): Promise<void> {
  if (!pools || !Object.hasOwn(subject, "id")) return;
  const value = subject.id;
  if (typeof value !== "string") return;
  const spec = dataMap.stores[dataMap.subject.store];
  if (spec?.kind !== "postgres") return;
  let column: ColumnInfo | undefined;
  try {
    column = (await pools.schema(dataMap.subject.store)).tables.get(dataMap.subject.table)?.columns.get(dataMap.subject.key);
  } catch {
    return;
  }
  const problem = column ? keyValueProblem(column, value) : null;
  if (problem) throw new RequestInputError("subject.id", problem);
}
