import { z } from "zod";
import { BreachInputError, parseBreachInput, requiredText, type BreachFieldError } from "./input-error";
import { SEVERITY_BANDS, type SeverityBand } from "./severity";

/**
 * The recorded decision on an incident: tell the supervisory authority (Art. 33)? tell the people
 * (Art. 34)? under which Art. 34(3) exemption not? Always with a rationale (Art. 33(5) documents
 * every breach and the reasoning); departing from what the severity suggests needs a written
 * justification on top. The decision belongs to the controller: the suggestion only sets the bar
 * for which choices must be justified.
 */

/**
 * The Art. 34(3) exemptions from telling each person: (a) the data are unintelligible to anyone
 * not authorised (e.g. state-of-the-art encryption, key not compromised); (b) later measures
 * ensure the high risk is no longer likely to materialise; (c) individual notice would involve
 * disproportionate effort, so a public communication informs the people instead.
 */
export const SUBJECT_EXEMPTIONS = ["data_unintelligible", "risk_removed", "disproportionate_effort"] as const;

/** One Art. 34(3) exemption. */
export type SubjectExemption = (typeof SUBJECT_EXEMPTIONS)[number];

/** What a band suggests: whom to tell. */
export interface SuggestedDecision {
  notifyAuthority: boolean;
  notifySubjects: boolean;
}

/**
 * Lethe's default reading of the ENISA bands against Art. 33/34 — a policy, not the law and not
 * ENISA's text (the method grades impact on people; it does not say whom to notify): low — at most
 * minor inconvenience, treated as unlikely to result in a risk: record only; medium — a risk: tell
 * the authority; high and very high — a high risk: tell the authority and the people.
 */
export const BAND_SUGGESTIONS: Readonly<Record<SeverityBand, SuggestedDecision>> = {
  low: { notifyAuthority: false, notifySubjects: false },
  medium: { notifyAuthority: true, notifySubjects: false },
  high: { notifyAuthority: true, notifySubjects: true },
  very_high: { notifyAuthority: true, notifySubjects: true },
};

/** The suggested decision for a severity band ({@link BAND_SUGGESTIONS}). */
export function suggestDecision(band: SeverityBand): SuggestedDecision {
  return { ...BAND_SUGGESTIONS[band] };
}

/** A decision as an operator submits it; validated by {@link recordDecision}. */
export const DecisionInputSchema = z
  .object({
    notifyAuthority: z.boolean(),
    /** Individual notices to the affected people (all of them, or the reachable ones with a public notice for the rest). */
    notifySubjects: z.boolean(),
    /** A public communication (Art. 34(3)(c)), required with the disproportionate-effort exemption, allowed on its own. */
    publicNotice: z.boolean().default(false),
    subjectExemption: z.enum(SUBJECT_EXEMPTIONS).nullable().default(null),
    /** Why the exemption applies (e.g. the cipher and where the key was); required with an exemption. */
    exemptionRationale: z.string().trim().max(10_000).optional(),
    /** The reasoning of the whole decision, kept in the register (Art. 33(5)). */
    rationale: requiredText("rationale", 10),
    /** Why the decision tells fewer parties than the severity suggests; required then. */
    deviationJustification: z.string().trim().max(10_000).optional(),
    /** Who decided: an operator id, not a name. */
    decidedBy: requiredText("decidedBy", 1, 200),
  })
  .strict();

/** One place where the decision departs from the suggestion. */
export interface DecisionDeviation {
  field: keyof SuggestedDecision;
  suggested: boolean;
  decided: boolean;
  /** `below`: tells fewer than suggested (must be justified); `above`: tells more (always allowed). */
  direction: "below" | "above";
}

/** A validated decision as the register stores it, with the assessment it was checked against. */
export interface RecordedDecision extends z.output<typeof DecisionInputSchema> {
  /** The band, score and method of the assessment the decision answers. */
  severity: { band: SeverityBand; score: number; method: string };
  suggested: SuggestedDecision;
  deviations: DecisionDeviation[];
  decidedAt: string;
}

/** Where `decided` departs from `suggested`, with its direction. */
export function deviationsFrom(suggested: SuggestedDecision, decided: SuggestedDecision): DecisionDeviation[] {
  const out: DecisionDeviation[] = [];
  for (const field of ["notifyAuthority", "notifySubjects"] as const) {
    if (suggested[field] !== decided[field])
      out.push({ field, suggested: suggested[field], decided: decided[field], direction: decided[field] ? "above" : "below" });
  }
  return out;
}

/** The consistency rules of a decision beyond its shape; returns every broken one. */
function decisionErrors(d: z.output<typeof DecisionInputSchema>, deviations: readonly DecisionDeviation[]): BreachFieldError[] {
  const errors: BreachFieldError[] = [];
  const ex = d.subjectExemption;
  if (ex && !d.exemptionRationale) errors.push({ field: "exemptionRationale", message: `the ${ex} exemption needs a rationale` });
  if (!ex && d.exemptionRationale) errors.push({ field: "exemptionRationale", message: "a rationale for an exemption was given but no subjectExemption" });
  if ((ex === "data_unintelligible" || ex === "risk_removed") && (d.notifySubjects || d.publicNotice)) {
    errors.push({ field: "subjectExemption", message: `${ex} exempts from telling the people; it contradicts notifySubjects or publicNotice` });
  }
  if (ex === "disproportionate_effort" && !d.publicNotice) {
    errors.push({ field: "publicNotice", message: "the disproportionate_effort exemption requires a public communication instead (Art. 34(3)(c))" });
  }
  // Telling the people means a high risk, and any risk is the authority's to know (Art. 33(1)).
  if ((d.notifySubjects || d.publicNotice) && !d.notifyAuthority && !d.deviationJustification) {
    errors.push({ field: "deviationJustification", message: "telling the people but not the authority needs a written justification" });
  }
  for (const dev of deviations) {
    if (dev.direction !== "below") continue;
    // Not telling the people is justified by an Art. 34(3) exemption (with its rationale) or in writing.
    const exempted = dev.field === "notifySubjects" && ex !== null;
    if (!exempted && !d.deviationJustification) {
      errors.push({ field: "deviationJustification", message: `the severity suggests ${dev.field}: true; deciding otherwise needs a written justification` });
    }
  }
  return errors;
}

/**
 * Validates a decision against the assessment it answers and returns the record to store.
 * Throws `BreachInputError` naming each bad field: missing rationale, an exemption without its
 * rationale or contradicting the notices, or telling fewer parties than suggested without a
 * justification (an exemption counts as one for the people).
 */
export function recordDecision(input: unknown, assessment: { band: SeverityBand; score: number; method: string }, now: Date): RecordedDecision {
  const d = parseBreachInput("decision", DecisionInputSchema, input);
  if (!SEVERITY_BANDS.includes(assessment.band)) throw new BreachInputError("decision", [{ field: "severity.band", message: "unknown severity band" }]);
  const suggested = suggestDecision(assessment.band);
  const deviations = deviationsFrom(suggested, d);
  const errors = decisionErrors(d, deviations);
  if (errors.length > 0) throw new BreachInputError("decision", errors);
  return {
    ...d,
    severity: { band: assessment.band, score: assessment.score, method: assessment.method },
    suggested,
    deviations,
    decidedAt: now.toISOString(),
  };
}

/** Whether a decision requires telling the people in any way (individual notices or a public communication). */
export function requiresSubjectCommunication(d: Pick<RecordedDecision, "notifySubjects" | "publicNotice">): boolean {
  return d.notifySubjects || d.publicNotice;
}
