import type { RequestType, StepCount } from "../types";

/**
 * How a completed request ended (issue 9, item 4: "not found" must never look like "erased"):
 *
 * - `done`: the subject was found and the request did its work (erased, exported, applied);
 * - `previewed`: a dry run; counts only, nothing changed (counted apart from real requests);
 * - `subject_not_found`: no subject matched; nothing was erased, exported or mailed.
 */
export const REQUEST_OUTCOMES = ["done", "previewed", "subject_not_found"] as const;
/** One of {@link REQUEST_OUTCOMES}. */
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/**
 * What a completed request stores as its result (`lethe.subject_request.result`): counts, whether
 * the subject was found, the outcome, and for an erasure whether every store was re-checked after
 * the change. Never personal values. Rows written before issue 9 lack `outcome` and `verified`
 * ({@link outcomeOf} and {@link isVerified} derive them).
 */
export interface RequestResult {
  steps: StepCount[];
  subjectFound: boolean;
  outcome?: RequestOutcome;
  /** An erasure's finalizer re-located the subject in every store (or the store did, before COMMIT) and found nothing left. */
  verified?: boolean;
}

/** The result of a completed request, with its outcome (and `verified`, true only for a re-checked erasure). */
export function resultOf(r: { type: RequestType | string; dryRun: boolean; steps: StepCount[]; subjectFound: boolean; verified?: boolean }): RequestResult {
  const outcome: RequestOutcome = r.dryRun ? "previewed" : r.subjectFound ? "done" : "subject_not_found";
  return {
    steps: r.steps,
    subjectFound: r.subjectFound,
    outcome,
    verified: r.type === "erasure" && outcome === "done" && r.verified === true,
  };
}

/** The outcome of a request: null until it completed. Rows from before issue 9 derive it from `dryRun` and `subjectFound`. */
export function outcomeOf(r: { status: string; dryRun: boolean; result: Partial<RequestResult> | null }): RequestOutcome | null {
  if (r.status !== "completed") return null;
  if (r.result?.outcome) return r.result.outcome;
  if (r.dryRun) return "previewed";
  return r.result?.subjectFound === false ? "subject_not_found" : "done";
}

/**
 * True only for a completed erasure of a found subject whose every store was re-checked. Rows
 * from before issue 9 (no `verified` recorded) count as verified only when the subject was found
 * (their finalizer refused to complete with leftovers).
 */
export function isVerified(r: { type: string; status: string; dryRun: boolean; result: Partial<RequestResult> | null }): boolean {
  if (r.type !== "erasure" || outcomeOf(r) !== "done") return false;
  return r.result?.verified ?? r.result?.subjectFound === true;
}

/** The audit event that ends a request: a not-found subject has its own event, never `<type>.completed`. */
export function completionEvent(type: string, outcome: RequestOutcome): string {
  if (outcome === "subject_not_found") return `${type}.subject_not_found`;
  if (outcome === "previewed") return `${type}.previewed`;
  return `${type}.completed`;
}
