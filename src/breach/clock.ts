import { BreachInputError, type BreachFieldError } from "./input-error";

/**
 * The authority's clock (Art. 33(1)): notify "without undue delay and, where feasible, not later
 * than 72 hours after having become aware"; a notification made later carries the reasons for the
 * delay. Only the first notification races the clock: later phases (Art. 33(4)) follow "without
 * undue further delay". Every function takes `now` so callers (a ticker job, the API, tests) decide
 * what time it is.
 */

/** 72 hours in milliseconds. */
export const AUTHORITY_DEADLINE_MS = 72 * 60 * 60 * 1000;

/** The marks a running clock passes, in order; each is logged and counted once when first reached. */
export const CLOCK_MARKS = ["running", "24h_left", "6h_left", "overdue"] as const;

/** Where a clock stands: more than 24 h left, at most 24 h, at most 6 h, or past the deadline. */
export type ClockMark = (typeof CLOCK_MARKS)[number];

/** The remaining time at which each warning mark is reached. */
export const CLOCK_MARK_THRESHOLDS_MS = { "24h_left": 24 * 60 * 60 * 1000, "6h_left": 6 * 60 * 60 * 1000 } as const;

/** A clock reading: the deadline, whole seconds left (negative once overdue) and the mark. */
export interface ClockReading {
  deadline: Date;
  secondsLeft: number;
  mark: ClockMark;
}

function assertDate(d: Date, field: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new BreachInputError("clock", [{ field, message: "must be a valid date" }]);
}

/** The authority's deadline: `awareAt` + 72 h. */
export function authorityDeadline(awareAt: Date): Date {
  assertDate(awareAt, "awareAt");
  return new Date(awareAt.getTime() + AUTHORITY_DEADLINE_MS);
}

/** Whole seconds until the deadline, rounded down (never more time than there is); negative once it has passed. */
export function secondsLeft(awareAt: Date, now: Date): number {
  assertDate(now, "now");
  return Math.floor((authorityDeadline(awareAt).getTime() - now.getTime()) / 1000);
}

/** The mark at `now`. A notification exactly at the deadline is in time, so `overdue` starts just after it. */
export function clockMark(awareAt: Date, now: Date): ClockMark {
  assertDate(now, "now");
  const leftMs = authorityDeadline(awareAt).getTime() - now.getTime();
  if (leftMs < 0) return "overdue";
  if (leftMs <= CLOCK_MARK_THRESHOLDS_MS["6h_left"]) return "6h_left";
  if (leftMs <= CLOCK_MARK_THRESHOLDS_MS["24h_left"]) return "24h_left";
  return "running";
}

/** Reads the clock at `now`. */
export function readClock(awareAt: Date, now: Date): ClockReading {
  return { deadline: authorityDeadline(awareAt), secondsLeft: secondsLeft(awareAt, now), mark: clockMark(awareAt, now) };
}

/**
 * The marks reached after `previous` up to `current`, in order (e.g. `running` → `overdue` after a
 * stopped ticker yields `24h_left`, `6h_left`, `overdue`), so each is logged once even if one was missed.
 */
export function marksReached(previous: ClockMark, current: ClockMark): ClockMark[] {
  const from = CLOCK_MARKS.indexOf(previous);
  const to = CLOCK_MARKS.indexOf(current);
  return to > from ? CLOCK_MARKS.slice(from + 1, to + 1) : [];
}

/** Whether a notification made at `at` is after the deadline. */
export function isLate(awareAt: Date, at: Date): boolean {
  assertDate(at, "at");
  return at.getTime() > authorityDeadline(awareAt).getTime();
}

/**
 * Checks the timing facts of an incident: detection comes no later than awareness, and neither is
 * in the future. Returns the broken rules as field errors (empty when fine).
 */
export function awarenessErrors(t: { detectedAt: Date; awareAt: Date }, now: Date): BreachFieldError[] {
  const errors: BreachFieldError[] = [];
  for (const [field, d] of [
    ["detectedAt", t.detectedAt],
    ["awareAt", t.awareAt],
  ] as const) {
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) errors.push({ field, message: "must be a valid date" });
    else if (d.getTime() > now.getTime()) errors.push({ field, message: "must not be in the future" });
  }
  if (errors.length === 0 && t.detectedAt.getTime() > t.awareAt.getTime()) {
    errors.push({ field: "awareAt", message: "awareness cannot precede detection; the clock starts at awareness" });
  }
  return errors;
}

/**
 * The error of a first notification made at `notifiedAt` without reasons for the delay when it
 * comes after the deadline (Art. 33(1)), or null when it is in time or gives reasons.
 */
export function delayReasonsError(awareAt: Date, notifiedAt: Date, delayReasons: string | null | undefined): BreachFieldError | null {
  if (!isLate(awareAt, notifiedAt) || (delayReasons ?? "").trim()) return null;
  const hours = Math.floor((notifiedAt.getTime() - awareAt.getTime()) / 3_600_000);
  return {
    field: "delayReasons",
    message: `the notification comes ${hours} h after awareness, past the 72 h deadline; give the reasons for the delay (Art. 33(1))`,
  };
}

/** Validates the timing of the first notification to the authority; throws `BreachInputError` on `delayReasons`. */
export function checkNotificationTiming(awareAt: Date, notifiedAt: Date, delayReasons: string | null | undefined): void {
  const error = delayReasonsError(awareAt, notifiedAt, delayReasons);
  if (error) throw new BreachInputError("notification timing", [error]);
}
