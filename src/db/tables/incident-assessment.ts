import type { SeverityAssessment, SeverityBand } from "../../breach/severity";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_assessment` (append-only): each severity assessment of an incident with
 * its inputs, partial scores, score, band and method version, so an old score can be re-read.
 */

/** A stored assessment. */
export interface AssessmentRow {
  id: string;
  incident_id: string;
  method: string;
  inputs: SeverityAssessment["inputs"];
  result: Pick<SeverityAssessment, "dpc" | "ei" | "cb">;
  score: string;
  band: SeverityBand;
  assessed_by: string;
  created_at: Date;
}

/** Stores an assessment with its `incident.assessed` audit entry (one statement). */
export async function insertAssessment(q: Sql, incidentId: string, a: SeverityAssessment, by: string): Promise<AssessmentRow> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_assessment (incident_id, method, inputs, result, score, band, assessed_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *),
     i AS (SELECT ins.*, inc.reference FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${appendAuditSql(
       {
         event: "'incident.assessed'",
         actor: "assessed_by",
         detail: "jsonb_build_object('incidentId', incident_id, 'reference', reference, 'assessmentId', id, 'method', method, 'score', score, 'band', band)",
       },
       "i",
     )})
     SELECT * FROM ins`,
    [incidentId, a.method, JSON.stringify(a.inputs), JSON.stringify({ dpc: a.dpc, ei: a.ei, cb: a.cb }), a.score, a.band, by],
  )) as AssessmentRow[];
  return rows[0]!;
}

/** The latest assessment of an incident, or null. */
export async function latestAssessment(q: Sql, incidentId: string): Promise<AssessmentRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_assessment WHERE incident_id = $1 ORDER BY id DESC LIMIT 1`, [incidentId])) as AssessmentRow[];
  return rows[0] ?? null;
}

/** Every assessment of an incident, oldest first. */
export async function assessmentsOf(q: Sql, incidentId: string): Promise<AssessmentRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident_assessment WHERE incident_id = $1 ORDER BY id`, [incidentId])) as AssessmentRow[];
}
