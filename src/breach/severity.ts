import { z } from "zod";
import { BREACH_KINDS, type BreachKind } from "./breach-types";
import { parseBreachInput, requiredText } from "./input-error";

/**
 * Severity of a personal data breach by the ENISA method ("Recommendations for a methodology of the
 * assessment of severity of personal data breaches", working document v1.0, December 2013):
 *
 *     SE = DPC × EI + CB
 *
 * DPC (data processing context, 1–4) weighs what the data are; EI (ease of identification,
 * 0.25–1) how easily they lead to a person; CB (circumstances of the breach, 0–2) adds the loss of
 * confidentiality, integrity and availability (0–0.5 each) and malicious intent (0.5).
 * Every score on these scales is a multiple of 0.25, so SE is exact in binary floating point.
 */

/** Names the method and its version; stored with every assessment so an old score can be re-read. */
export const SEVERITY_METHOD_VERSION = "enisa-2013-v1.0";

/** ENISA's four data categories and their base DPC score. */
export const DPC_BASE_SCORES = { simple: 1, behavioural: 2, financial: 3, sensitive: 4 } as const;

/** A data category of the ENISA method (simple, behavioural, financial, sensitive). */
export type DpcCategory = keyof typeof DPC_BASE_SCORES;

/**
 * The contextual factors ENISA lets raise or lower a category's base score, each with the
 * direction the method allows: volume of data, characteristics of the controller and vulnerability
 * of the people raise it; invalid/inaccurate data and prior public availability lower it; what the
 * data actually reveal (nature of the data) may do either.
 */
export const DPC_ADJUSTMENT_FACTORS = {
  volume: "up",
  controller_characteristics: "up",
  vulnerable_subjects: "up",
  invalid_or_inaccurate: "down",
  publicly_available: "down",
  nature_of_data: "either",
} as const;

/** One contextual factor of {@link DPC_ADJUSTMENT_FACTORS}. */
export type DpcAdjustmentFactor = keyof typeof DPC_ADJUSTMENT_FACTORS;

/** Ease of identification and its multiplier. */
export const EI_SCORES = { negligible: 0.25, limited: 0.5, significant: 0.75, maximum: 1 } as const;

/** Loss of confidentiality: not affected or exposed without evidence of unlawful processing (0), disclosed to known (0.25) or unknown (0.5) recipients. */
export const CONFIDENTIALITY_SCORES = { not_affected: 0, exposed_without_evidence: 0, known_recipients: 0.25, unknown_recipients: 0.5 } as const;

/** Loss of integrity: not affected or altered without identified misuse (0), altered and possibly misused but recoverable (0.25) or not (0.5). */
export const INTEGRITY_SCORES = { not_affected: 0, altered_without_misuse: 0, altered_recoverable: 0.25, altered_unrecoverable: 0.5 } as const;

/** Loss of availability: not affected or recoverable without difficulty (0), temporarily (0.25) or permanently (0.5) unavailable. */
export const AVAILABILITY_SCORES = { not_affected: 0, recoverable: 0, temporary: 0.25, permanent: 0.5 } as const;

/** Added when the breach was caused intentionally to harm the people or the controller (theft, hacking, sale of data). */
export const MALICIOUS_INTENT_SCORE = 0.5;

/** ENISA's severity levels; the lower bound of each is inclusive. */
export const SEVERITY_BANDS = ["low", "medium", "high", "very_high"] as const;

/** A severity level: low < 2 ≤ medium < 3 ≤ high < 4 ≤ very high. */
export type SeverityBand = (typeof SEVERITY_BANDS)[number];

const keysOf = <T extends object>(o: T) => Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];

const adjustmentSchema = z
  .object({
    factor: z.enum(keysOf(DPC_ADJUSTMENT_FACTORS)),
    /** Whole DPC levels to add (negative to lower); ENISA's DPC scale has four whole levels. */
    delta: z
      .number()
      .int("delta must be a whole number of levels")
      .min(-3)
      .max(3)
      .refine((d) => d !== 0, "delta must not be 0"),
    /** Why the factor applies to this breach. */
    reason: requiredText("reason"),
  })
  .strict()
  .superRefine((a, ctx) => {
    const allowed = DPC_ADJUSTMENT_FACTORS[a.factor];
    if ((allowed === "up" && a.delta < 0) || (allowed === "down" && a.delta > 0)) {
      ctx.addIssue({ code: "custom", path: ["delta"], message: `factor ${a.factor} can only move the score ${allowed}` });
    }
  });

const categorySchema = z
  .object({
    category: z.enum(keysOf(DPC_BASE_SCORES)),
    /** Which data this is (e.g. `orders: shipping address`); names, not values. */
    label: requiredText("label", 1, 200),
    adjustments: z.array(adjustmentSchema).max(20).default([]),
  })
  .strict();

/** The input of an assessment, as an operator gives it; validated by {@link assessSeverity}. */
export const SeverityInputSchema = z
  .object({
    /** Every kind of data breached; DPC is the highest adjusted score among them (ENISA scores each and keeps the worst). */
    dataCategories: z.array(categorySchema).min(1, "name at least one data category").max(50),
    ease: z.enum(keysOf(EI_SCORES)),
    confidentiality: z.enum(keysOf(CONFIDENTIALITY_SCORES)),
    integrity: z.enum(keysOf(INTEGRITY_SCORES)),
    availability: z.enum(keysOf(AVAILABILITY_SCORES)),
    maliciousIntent: z.boolean(),
    /** Free notes on the evidence behind the scores. */
    notes: z.string().trim().max(10_000).optional(),
  })
  .strict()
  .refine((i) => i.confidentiality !== "not_affected" || i.integrity !== "not_affected" || i.availability !== "not_affected", {
    path: ["confidentiality"],
    message: "a breach affects confidentiality, integrity or availability: at least one must be other than not_affected",
  });

/** Validated assessment input. */
export type SeverityInput = z.output<typeof SeverityInputSchema>;

/** One data category's score: base, the sum of its adjustments and the result clamped to 1–4. */
export interface DpcCategoryScore {
  label: string;
  category: DpcCategory;
  base: number;
  adjustment: number;
  score: number;
}

/** A stored assessment: the validated inputs, every partial score, SE, its band and the method version. */
export interface SeverityAssessment {
  method: typeof SEVERITY_METHOD_VERSION;
  inputs: SeverityInput;
  dpc: { score: number; categories: DpcCategoryScore[] };
  ei: number;
  cb: { confidentiality: number; integrity: number; availability: number; maliciousIntent: number; total: number };
  score: number;
  band: SeverityBand;
}

/** The kinds of breach an assessment describes (those not `not_affected`), to cross-check the incident's kinds. */
export function affectedKinds(input: Pick<SeverityInput, BreachKind>): BreachKind[] {
  return BREACH_KINDS.filter((k) => input[k] !== "not_affected");
}

/** The band of a severity score: low < 2, medium < 3, high < 4, very high from 4. */
export function severityBand(score: number): SeverityBand {
  if (!Number.isFinite(score)) throw new RangeError("a severity score must be a finite number");
  if (score < 2) return "low";
  if (score < 3) return "medium";
  if (score < 4) return "high";
  return "very_high";
}

/** The base score plus the adjustments, clamped to ENISA's DPC range 1–4. */
export function dpcOfCategory(category: DpcCategory, adjustments: readonly { delta: number }[]): number {
  const raw = DPC_BASE_SCORES[category] + adjustments.reduce((sum, a) => sum + a.delta, 0);
  return Math.min(4, Math.max(1, raw));
}

/**
 * Validates `input` (a {@link SeverityInputSchema}) and scores it. Throws `BreachInputError` naming
 * each bad field. The result is what the register stores.
 */
export function assessSeverity(input: unknown): SeverityAssessment {
  const inputs = parseBreachInput("severity assessment", SeverityInputSchema, input);
  const categories = inputs.dataCategories.map((c) => {
    const adjustment = c.adjustments.reduce((sum, a) => sum + a.delta, 0);
    return { label: c.label, category: c.category, base: DPC_BASE_SCORES[c.category], adjustment, score: dpcOfCategory(c.category, c.adjustments) };
  });
  const dpc = Math.max(...categories.map((c) => c.score));
  const ei = EI_SCORES[inputs.ease];
  const cb = {
    confidentiality: CONFIDENTIALITY_SCORES[inputs.confidentiality],
    integrity: INTEGRITY_SCORES[inputs.integrity],
    availability: AVAILABILITY_SCORES[inputs.availability],
    maliciousIntent: inputs.maliciousIntent ? MALICIOUS_INTENT_SCORE : 0,
    total: 0,
  };
  cb.total = cb.confidentiality + cb.integrity + cb.availability + cb.maliciousIntent;
  const score = dpc * ei + cb.total;
  return { method: SEVERITY_METHOD_VERSION, inputs, dpc: { score: dpc, categories }, ei, cb, score, band: severityBand(score) };
}
