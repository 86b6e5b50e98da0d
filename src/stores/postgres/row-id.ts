/**
 * A row's identity within one transaction: `<tableoid>:<ctid>`. A ctid alone is unique only
 * within one physical table; a partitioned (or inheritance) parent reaches rows of several
 * partitions that can share a ctid, so an erasure that addressed rows by ctid alone through the
 * parent would also hit another partition's row. Lookups still run as TID scans (one per
 * partition), the pairing checked as a filter.
 */

/** Select-list expression of a row's id (text). */
export const ROW_ID_SQL = `(tableoid::oid::text || ':' || ctid::text)`;

/** `<the row's id> = ANY(<param>)`: `param` a placeholder bound to a `text[]` of row ids. */
export function rowIdInSql(param: string): string {
  return `(ctid = ANY(ARRAY(SELECT split_part(r, ':', 2)::tid FROM unnest(${param}::text[]) AS r)) AND ${ROW_ID_SQL} = ANY(${param}::text[]))`;
}

/** `NOT (<the row's id> = ANY(<param>))`, for "rows other than these". */
export function rowIdNotInSql(param: string): string {
  return `NOT (${ROW_ID_SQL} = ANY(${param}::text[]))`;
}
