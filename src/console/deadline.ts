import type { RequestStatus } from "../types";

/**
 * Where a request stands against its Art. 12(3) due date. A request is *open* until it is
 * answered (`completed` or `refused`): a `failed` request is open, and overdue once its due date
 * passes, because the person still has no answer.
 */

/** Deadline bands: on track, due within {@link DUE_SOON_DAYS} days, overdue; `closed` once answered. */
export const BANDS = ["on_track", "due_soon", "overdue", "closed"] as const;
/** One of {@link BANDS}. */
export type Band = (typeof BANDS)[number];

/** Days before the due date from which an open request is `due_soon`. (Default: 7) */
export const DUE_SOON_DAYS = 7;

/** Statuses of an answered request; every other status is open. */
export const CLOSED_STATUSES: readonly RequestStatus[] = ["completed", "refused"];

const DAY_MS = 24 * 60 * 60 * 1000;

/** True while the person still waits for an answer (failed requests included). */
export function isOpen(status: RequestStatus): boolean {
  return !CLOSED_STATUSES.includes(status);
}

/** Whole days left until `dueAt`, rounded up: 1 for anything due within the next 24 hours, 0 or less once past. */
export function daysLeft(dueAt: Date, now: Date): number {
  const days = Math.ceil((dueAt.getTime() - now.getTime()) / DAY_MS);
  return days === 0 ? 0 : days;
}

/** The band of a request; the same rule as the SQL of `db/tables/request-list`. */
export function bandOf(status: RequestStatus, dueAt: Date, now: Date): Band {
  if (!isOpen(status)) return "closed";
  const left = dueAt.getTime() - now.getTime();
  if (left < 0) return "overdue";
  if (left < DUE_SOON_DAYS * DAY_MS) return "due_soon";
  return "on_track";
}

/** Human label of a band, for pages. */
export const BAND_LABELS: Readonly<Record<Band, string>> = {
  on_track: "on track",
  due_soon: `${DUE_SOON_DAYS} days or less`,
  overdue: "overdue",
  closed: "answered",
};
