import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { DataMap } from "../datamap/schema";
import { countRequests, listRequestRows, openRequestCounts, type RequestFilter, type RequestListRow } from "../db/tables/request-list";
import type { Sql } from "../db/tables/sql";
import { requestJobId } from "../queues/jobs/erase-request";
import { storeJobId } from "../queues/jobs/erase-store";
import type { RequestStatus, RequestType } from "../types";
import { decodeCursor, encodeCursor } from "./cursor";
import { daysLeft, type Band } from "./deadline";

/** A store of a request that failed or is being retried: its attempts and next retry, and its job in bull-board. */
export interface FailingStore {
  store: string;
  /** The error code recorded when the store failed for good; null while it is retried. */
  code: string | null;
  attempts: number;
  /** When BullMQ tries again (null: not scheduled; a failed request waits for a retry by hand). */
  nextRetryAt: string | null;
  /** The store's job (`GET /admin/queues/queue/<queue>/<id>`); null when the job is gone. */
  job: { queue: string; id: string } | null;
}

/** One request of `GET /v1/requests` and the console's list. Ids, dates and counts only. */
export interface RequestListItem {
  id: string;
  type: RequestType;
  status: RequestStatus;
  dryRun: boolean;
  receivedAt: string;
  /** The Art. 12(3) due date: receipt + one calendar month, or the extended date. */
  dueAt: string;
  /** The extension (Art. 12(3)), when given: by how many months, and the due date before it. */
  extension: { months: number; originalDueAt: string } | null;
  /** Whole days left (0 or less: overdue); null once answered. */
  daysLeft: number | null;
  band: Band;
  completedAt: string | null;
  /** Completed without finding the person (`subject_not_found`). */
  notFound: boolean;
  error: { code: string } | null;
  /** Per-store progress: stores done of the stores the request touches, and those failing. */
  stores: { done: number; total: number; failing: FailingStore[] };
}

/** A page of requests. */
export interface RequestPage {
  requests: RequestListItem[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Requests the filter selects over all pages. */
  total: number;
}

/** What building a page needs. */
export interface RequestListDeps {
  ds: Sql;
  dataMap: DataMap;
  /** The erasure queue, to read a failing store's attempts and next retry. */
  erasureQueue: Queue;
  /** The queues' Redis connection (the delayed set's scores say when a job runs next). */
  redis: Pick<Redis, "zscore">;
}

/** Open requests by band and by status (previews apart): the console's headline numbers. */
export interface RequestSummary {
  open: number;
  byBand: Record<Exclude<Band, "closed">, number>;
  byStatus: Partial<Record<RequestStatus, number>>;
  byType: Partial<Record<RequestType, number>>;
}

/** Thrown for a cursor that is not one of ours. */
export class BadCursorError extends Error {
  constructor() {
    super("the cursor is not valid: pass the nextCursor of a previous page");
  }
}

/** One page of requests, sorted by days left (due date, then id). */
export async function listRequests(deps: RequestListDeps, filter: RequestFilter, page: { limit: number; cursor?: string }, now: Date): Promise<RequestPage> {
  let after: { dueAt: string; id: string } | null = null;
  if (page.cursor) {
    const decoded = decodeCursor(page.cursor);
    if (!decoded) throw new BadCursorError();
    after = { dueAt: decoded.at, id: decoded.id };
  }
  const [rows, total] = await Promise.all([listRequestRows(deps.ds, filter, now, { limit: page.limit, after }), countRequests(deps.ds, filter, now)]);
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  const requests = await Promise.all(shown.map((r) => toItem(deps, r, now)));
  return { requests, nextCursor: rows.length > page.limit && last ? encodeCursor(last.due_key, last.id) : null, total };
}

async function toItem(deps: RequestListDeps, r: RequestListRow, now: Date): Promise<RequestListItem> {
  const mapStores = r.type === "erasure" ? Object.keys(deps.dataMap.stores) : [];
  const names = [...new Set([...mapStores, ...r.stores.map((s) => s.store)])];
  const done = r.stores.filter((s) => s.status === "done").length;
  const failing = r.type === "erasure" && (r.status === "running" || r.status === "failed") ? await failingStores(deps, r, names) : [];
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    dryRun: r.dry_run,
    receivedAt: r.received_at.toISOString(),
    dueAt: r.due_at.toISOString(),
    extension: r.extended_months !== null && r.original_due_at ? { months: r.extended_months, originalDueAt: r.original_due_at.toISOString() } : null,
    daysLeft: r.band === "closed" ? null : daysLeft(r.due_at, now),
    band: r.band,
    completedAt: r.completed_at ? r.completed_at.toISOString() : null,
    notFound: r.not_found,
    error: r.error_code ? { code: r.error_code } : null,
    stores: { done, total: names.length, failing },
  };
}

/** Stores of an erasure not done whose job failed at least once, with BullMQ's attempts and next retry. */
async function failingStores(deps: RequestListDeps, r: RequestListRow, names: string[]): Promise<FailingStore[]> {
  const queue = deps.erasureQueue;
  const byName = new Map(r.stores.map((s) => [s.store, s]));
  const out: FailingStore[] = [];
  for (const store of names) {
    const row = byName.get(store);
    if (row?.status === "done") continue;
    // A store erased by the request's entry job (one that never waits) has no job of its own.
    const ownId = storeJobId(r.id, store);
    const own = await queue.getJob(ownId);
    const jobId = own ? ownId : requestJobId(r.id);
    const job = own ?? (await queue.getJob(jobId));
    const attempts = job?.attemptsMade ?? 0;
    if (row?.status !== "failed" && attempts === 0) continue;
    out.push({
      store,
      code: row?.status === "failed" ? row.error_code : null,
      attempts,
      nextRetryAt: job ? await nextRetryOf(deps.redis, queue, jobId) : null,
      job: job ? { queue: queue.name, id: jobId } : null,
    });
  }
  return out;
}

/** When a delayed (backing-off) job runs next: its score in the queue's delayed set is `timestamp * 4096 + counter`. */
async function nextRetryOf(redis: Pick<Redis, "zscore">, queue: Queue, jobId: string): Promise<string | null> {
  const score = await redis.zscore(queue.keys.delayed!, jobId);
  return score === null ? null : new Date(Math.floor(Number(score) / 4096)).toISOString();
}

/** Open requests by band, status and type (real requests, or previews when `dryRun`). */
export async function requestSummary(ds: Sql, now: Date, dryRun = false): Promise<RequestSummary> {
  const rows = await openRequestCounts(ds, now, dryRun);
  const summary: RequestSummary = { open: 0, byBand: { on_track: 0, due_soon: 0, overdue: 0 }, byStatus: {}, byType: {} };
  for (const r of rows) {
    summary.open += r.n;
    if (r.band !== "closed") summary.byBand[r.band] += r.n;
    summary.byStatus[r.status] = (summary.byStatus[r.status] ?? 0) + r.n;
    summary.byType[r.type] = (summary.byType[r.type] ?? 0) + r.n;
  }
  return summary;
}
