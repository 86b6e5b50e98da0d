import { DUE_SOON_DAYS, type Band } from "../../console/deadline";
import type { RequestStatus, RequestType } from "../../types";
import { cursorKeySql } from "../../console/cursor";
import type { Sql } from "./sql";

/**
 * The read side of `lethe.subject_request` for the console and `GET /v1/requests`: requests by
 * days left (keyset pages on `(due_at, id)`), with their extension, per-store progress and band,
 * and the counts by band and status. Read-only; the writes stay in `subject-request.ts`.
 */

/** A status filter: a request status, or `extended` / `not_found` (a completed request whose subject was not found). */
export type StatusFilter = RequestStatus | "extended" | "not_found";

/** Which requests a page lists. */
export interface RequestFilter {
  type?: RequestType;
  status?: StatusFilter;
  band?: Band;
  /** `open` (not yet answered), `closed`, or `all`. */
  state: "open" | "closed" | "all";
  /** Previews (dry runs) are listed apart from real requests. */
  dryRun: boolean;
}

/** One row of a page. */
export interface RequestListRow {
  id: string;
  type: RequestType;
  status: RequestStatus;
  dry_run: boolean;
  received_at: Date;
  due_at: Date;
  /** `due_at` as exact text (the page cursor). */
  due_key: string;
  completed_at: Date | null;
  error_code: string | null;
  not_found: boolean;
  band: Band;
  extended_months: number | null;
  original_due_at: Date | null;
  stores: Array<{ store: string; status: string; error_code: string | null }>;
}

const CLOSED = `('completed', 'refused')`;

/** The band of request `r` at instant `now` (a parameter): the rule of `console/deadline.bandOf`. */
export function bandSql(now: string): string {
  return `CASE WHEN r.status IN ${CLOSED} THEN 'closed' WHEN r.due_at < ${now} THEN 'overdue'
               WHEN r.due_at < ${now} + interval '${DUE_SOON_DAYS * 24} hours' THEN 'due_soon' ELSE 'on_track' END`;
}

/** WHERE conditions (on alias `r`) and their parameters, numbered from `first`. */
function where(f: RequestFilter, now: Date, first: number): { sql: string[]; params: unknown[] } {
  const params: unknown[] = [now, f.dryRun];
  const p = (i: number): string => `$${first + i}`;
  // The instant is typed here, so a statement that uses it only for bands still binds it.
  const sql = [`${p(0)}::timestamptz IS NOT NULL`, `r.dry_run = ${p(1)}`];
  const add = (cond: (param: string) => string, value: unknown): void => {
    params.push(value);
    sql.push(cond(p(params.length - 1)));
  };
  if (f.state === "open") sql.push(`r.status NOT IN ${CLOSED}`);
  if (f.state === "closed") sql.push(`r.status IN ${CLOSED}`);
  if (f.type) add((x) => `r.type = ${x}`, f.type);
  if (f.status === "extended") sql.push(`EXISTS (SELECT 1 FROM lethe.request_extension e2 WHERE e2.request_id = r.id)`);
  else if (f.status === "not_found") sql.push(`r.status = 'completed' AND r.result->>'subjectFound' = 'false'`);
  else if (f.status) add((x) => `r.status = ${x}`, f.status);
  if (f.band) add((x) => `${bandSql(p(0))} = ${x}`, f.band);
  return { sql, params };
}

/** A page of requests by due date (then id) after `after`, at most `limit` (+1 to tell whether more follow). */
export async function listRequestRows(
  q: Sql,
  f: RequestFilter,
  now: Date,
  page: { limit: number; after: { dueAt: string; id: string } | null },
): Promise<RequestListRow[]> {
  const w = where(f, now, 1);
  const params = [...w.params];
  if (page.after) {
    params.push(page.after.dueAt, page.after.id);
    w.sql.push(`(r.due_at, r.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(page.limit + 1);
  return (await q.query(
    `SELECT r.id, r.type, r.status, r.dry_run, r.received_at, r.due_at, ${cursorKeySql("r.due_at")} AS due_key, r.completed_at, r.error_code,
            coalesce(r.status = 'completed' AND r.result->>'subjectFound' = 'false', false) AS not_found,
            ${bandSql("$1")} AS band, e.months AS extended_months, e.original_due_at,
            coalesce((SELECT json_agg(json_build_object('store', s.store, 'status', s.status, 'error_code', s.error_code) ORDER BY s.store)
                        FROM lethe.request_store s WHERE s.request_id = r.id), '[]') AS stores
       FROM lethe.subject_request r LEFT JOIN lethe.request_extension e ON e.request_id = r.id
      WHERE ${w.sql.join(" AND ")}
      ORDER BY r.due_at, r.id
      LIMIT $${params.length}`,
    params,
  )) as RequestListRow[];
}

/** How many requests the filter selects (all pages). */
export async function countRequests(q: Sql, f: RequestFilter, now: Date): Promise<number> {
  const w = where(f, now, 1);
  const rows = (await q.query(`SELECT count(*)::int AS n FROM lethe.subject_request r WHERE ${w.sql.join(" AND ")}`, w.params)) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

/** Open requests (real or previews) by type, band and status: the console's summary and the metrics. */
export async function openRequestCounts(
  q: Sql,
  now: Date,
  dryRun: boolean,
): Promise<Array<{ type: RequestType; band: Band; status: RequestStatus; n: number }>> {
  return (await q.query(
    `SELECT r.type, ${bandSql("$1")} AS band, r.status, count(*)::int AS n
       FROM lethe.subject_request r WHERE r.status NOT IN ${CLOSED} AND r.dry_run = $2
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [now, dryRun],
  )) as Array<{ type: RequestType; band: Band; status: RequestStatus; n: number }>;
}

/**
 * Answered requests by type and preview flag: how many took at most each of `bounds` seconds from
 * receipt to answer (cumulative, as a Prometheus histogram counts), their count and their sum.
 */
export async function completionBuckets(
  q: Sql,
  bounds: readonly number[],
): Promise<Array<{ type: RequestType; dry_run: boolean; buckets: number[]; count: number; sum: number }>> {
  return (await q.query(
    `SELECT type, dry_run, array_agg(n ORDER BY i) AS buckets, max(total)::int AS count, max(total_sum)::float8 AS sum
       FROM (SELECT r.type, r.dry_run, b.i, count(*) FILTER (WHERE extract(epoch FROM r.completed_at - r.received_at) <= b.le)::int AS n,
                    count(*) AS total, sum(extract(epoch FROM r.completed_at - r.received_at)) AS total_sum
               FROM lethe.subject_request r CROSS JOIN unnest($1::float8[]) WITH ORDINALITY AS b(le, i)
              WHERE r.status = 'completed' AND r.completed_at IS NOT NULL
              GROUP BY r.type, r.dry_run, b.i) x
      GROUP BY type, dry_run ORDER BY type, dry_run`,
    [bounds],
  )) as Array<{ type: RequestType; dry_run: boolean; buckets: number[]; count: number; sum: number }>;
}

/** Real requests not yet answered, due within `hours` from `now`, by type (the alert "due within 3 days"). */
export async function openDueWithin(q: Sql, now: Date, hours: number): Promise<Array<{ type: RequestType; n: number }>> {
  return (await q.query(
    `SELECT type, count(*)::int AS n FROM lethe.subject_request
      WHERE status NOT IN ${CLOSED} AND NOT dry_run AND due_at >= $1 AND due_at < $1::timestamptz + make_interval(hours => $2) GROUP BY type`,
    [now, hours],
  )) as Array<{ type: RequestType; n: number }>;
}
