import { requiresSubjectCommunication, type RecordedDecision } from "./decision";

/**
 * The incident status machine. The main line is
 *
 *     open → assessed → authority_notified → subjects_notified → closed
 *
 * and any incident can be found `not_a_breach`. A status is a milestone reached, checked against
 * the facts of the incident ({@link TransitionFacts}); what the law requires decides which steps may
 * be skipped:
 *
 * - Every breach is documented and assessed (Art. 33(5)): nothing closes without a recorded
 *   decision, so `open → closed` does not exist.
 * - `assessed → closed`: the decision tells neither the authority (unlikely to result in a risk,
 *   Art. 33(1)) nor the people (no high risk, or an Art. 34(3)(a)/(b) exemption).
 * - `authority_notified → closed`: the people need not be told; the authority has a complete report.
 * - `assessed → subjects_notified`: the decision tells the people but not the authority — a
 *   departure the decision had to justify in writing.
 * - The people may be told before the authority when urgency demands; the fan-out is not a status,
 *   so the incident stays `assessed` until the authority is notified, then moves on.
 * - `not_a_breach` needs a rationale; once the authority was notified it also needs a withdrawal
 *   report (a notified breach found not to be one is withdrawn, EDPB Guidelines 9/2022).
 * - `closed` and `not_a_breach` are final: the register keeps them; new facts open a new incident.
 */

/** Every status of an incident. */
export const INCIDENT_STATUSES = ["open", "assessed", "authority_notified", "subjects_notified", "closed", "not_a_breach"] as const;

/** One status of {@link INCIDENT_STATUSES}. */
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Statuses no transition leaves. */
export const FINAL_STATUSES: ReadonlySet<IncidentStatus> = new Set(["closed", "not_a_breach"]);

/** What a transition's guard reads about the incident; the caller loads it from the register. */
export interface TransitionFacts {
  /** The latest recorded decision, if any. */
  decision: Pick<RecordedDecision, "notifyAuthority" | "notifySubjects" | "publicNotice"> | null;
  /** An initial report was submitted to the authority. */
  authorityNotified: boolean;
  /** The latest report version is complete (nothing "to follow") or a withdrawal. */
  latestReportComplete: boolean;
  /** A withdrawal report was submitted. */
  withdrawalFiled: boolean;
  /** Every individual notice reached a final state (sent or undeliverable) and any public notice was given. */
  subjectsNotified: boolean;
  /** Why the incident is not a breach (for `not_a_breach`). */
  rationale?: string | null;
}

/** A transition the machine allows, with the rule its guard enforces. */
export interface TransitionRule {
  from: IncidentStatus;
  to: IncidentStatus;
  /** Why it may happen, in words (shown in errors and docs). */
  when: string;
  /** Returns the reason the guard refuses, or null. */
  guard: (f: TransitionFacts) => string | null;
}

const needsDecision = (f: TransitionFacts) => (f.decision ? null : "no decision is recorded");
const tellsSubjects = (f: TransitionFacts) => f.decision !== null && requiresSubjectCommunication(f.decision);

const notABreach = (f: TransitionFacts): string | null => {
  if (!f.rationale?.trim()) return "a rationale is required";
  if (f.authorityNotified && !f.withdrawalFiled) return "the authority was notified: file a withdrawal report first";
  return null;
};

const closing = (f: TransitionFacts): string | null => {
  if (!f.decision) return "no decision is recorded";
  if (f.decision.notifyAuthority && !f.authorityNotified) return "the decision requires notifying the authority";
  if (f.authorityNotified && !f.latestReportComplete) return "the authority's report still has fields to follow; submit a complete follow-up";
  if (tellsSubjects(f) && !f.subjectsNotified) return "the decision requires telling the people and not all were told";
  return null;
};

/** The allowed transitions; anything else is refused. */
export const TRANSITIONS: readonly TransitionRule[] = [
  { from: "open", to: "assessed", when: "a severity assessment and a decision are recorded", guard: needsDecision },
  { from: "open", to: "not_a_breach", when: "with a rationale", guard: notABreach },
  {
    from: "assessed",
    to: "authority_notified",
    when: "the decision requires it and the initial report was submitted",
    guard: (f) =>
      needsDecision(f) ??
      (!f.decision!.notifyAuthority ? "the decision does not notify the authority" : !f.authorityNotified ? "no report was submitted" : null),
  },
  {
    from: "assessed",
    to: "subjects_notified",
    when: "the decision tells the people but (justified) not the authority, and the people were told",
    guard: (f) =>
      needsDecision(f) ??
      (f.decision!.notifyAuthority
        ? "the decision requires notifying the authority first"
        : !tellsSubjects(f)
          ? "the decision does not tell the people"
          : null) ??
      (!f.subjectsNotified ? "not all people were told" : null),
  },
  { from: "assessed", to: "closed", when: "the decision tells neither the authority nor the people", guard: closing },
  { from: "assessed", to: "not_a_breach", when: "with a rationale", guard: notABreach },
  {
    from: "authority_notified",
    to: "subjects_notified",
    when: "the decision tells the people and they were told",
    guard: (f) => (!tellsSubjects(f) ? "the decision does not tell the people" : !f.subjectsNotified ? "not all people were told" : null),
  },
  { from: "authority_notified", to: "closed", when: "the people need not be told and the report is complete", guard: closing },
  { from: "authority_notified", to: "not_a_breach", when: "with a rationale and a withdrawal report", guard: notABreach },
  { from: "subjects_notified", to: "closed", when: "every required notification is done and the report is complete", guard: closing },
  { from: "subjects_notified", to: "not_a_breach", when: "with a rationale and, if the authority was notified, a withdrawal report", guard: notABreach },
];

/** A refused transition; the message says why and which moves are possible from here. */
export class StatusTransitionError extends Error {
  override readonly name = "StatusTransitionError";
  constructor(
    readonly from: IncidentStatus,
    readonly to: IncidentStatus,
    readonly reason: string,
  ) {
    super(`incident cannot move from ${from} to ${to}: ${reason}`);
  }
}

/** The statuses reachable from `from` by some transition (whatever the facts). */
export function nextStatuses(from: IncidentStatus): IncidentStatus[] {
  return TRANSITIONS.filter((t) => t.from === from).map((t) => t.to);
}

/** Checks the move `from → to` against the table and its guard; returns `to` or throws {@link StatusTransitionError}. */
export function transition(from: IncidentStatus, to: IncidentStatus, facts: TransitionFacts): IncidentStatus {
  const rule = TRANSITIONS.find((t) => t.from === from && t.to === to);
  if (!rule) {
    const next = nextStatuses(from);
    throw new StatusTransitionError(from, to, next.length === 0 ? `${from} is final` : `not an allowed transition (from ${from}: ${next.join(", ")})`);
  }
  const refused = rule.guard(facts);
  if (refused) throw new StatusTransitionError(from, to, `${refused} (allowed when ${rule.when})`);
  return to;
}

/**
 * Whether the authority's 72-hour clock runs for an incident: it has not reached a final status,
 * the authority has not been notified, and no decision says the authority need not be told.
 */
export function isClockRunning(status: IncidentStatus, facts: Pick<TransitionFacts, "decision" | "authorityNotified">): boolean {
  if (FINAL_STATUSES.has(status) || facts.authorityNotified) return false;
  if (status === "authority_notified" || status === "subjects_notified") return false;
  return facts.decision === null || facts.decision.notifyAuthority;
}
