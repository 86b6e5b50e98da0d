import type { DataSource } from "typeorm";
import { recordDecision } from "../breach/decision";
import { affectedKinds, assessSeverity } from "../breach/severity";
import type { Config } from "../config";
import { insertAssessment, latestAssessment, type AssessmentRow } from "../db/tables/incident-assessment";
import { insertDecision, type DecisionRow } from "../db/tables/incident-decision";
import { IncidentConflictError } from "./errors";
import { advance, assertNotFinal, requireIncident } from "./register";

/**
 * Severity and decision: an assessment scores the incident with the core's ENISA method and is
 * stored with its inputs and method version; a decision answers the latest assessment, is checked
 * by the core (a departure from what the score suggests needs a written justification) and moves
 * the incident to `assessed`.
 */

/** A stored assessment and the kinds it and the incident disagree on (a hint to review either). */
export interface AssessmentOutcome {
  assessment: AssessmentRow;
  warnings: string[];
}

/** Scores and stores an assessment of the incident. */
export async function assessIncident(ds: DataSource, id: string, input: unknown, by: string): Promise<AssessmentOutcome> {
  const assessed = assessSeverity(input);
  return ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    assertNotFinal(row, "be assessed");
    const assessment = await insertAssessment(m, row.id, assessed, by);
    const kinds = affectedKinds(assessed.inputs);
    const warnings = [
      ...kinds.filter((k) => !row.kinds.includes(k)).map((k) => `the assessment scores a loss of ${k}, which the incident does not list`),
      ...row.kinds.filter((k) => !kinds.includes(k)).map((k) => `the incident lists ${k}, which the assessment scores as not affected`),
    ];
    return { assessment, warnings };
  });
}

/** Records a decision against the latest assessment; `decidedBy` defaults to the caller. Advances the status. */
export async function decideIncident(
  ds: DataSource,
  config: Pick<Config, "breachContactWipeHours">,
  id: string,
  input: unknown,
  by: string,
  now: Date,
): Promise<DecisionRow> {
  return ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    assertNotFinal(row, "take a decision");
    const assessment = await latestAssessment(m, row.id);
    if (!assessment) throw new IncidentConflictError(`incident ${row.reference} has no severity assessment yet; assess it first`);
    const body = typeof input === "object" && input !== null && !("decidedBy" in input) ? { ...input, decidedBy: by } : input;
    const decision = recordDecision(body, { band: assessment.band, score: Number(assessment.score), method: assessment.method }, now);
    const stored = await insertDecision(m, row.id, assessment.id, decision);
    await advance(m, row, by, config);
    return stored;
  });
}
