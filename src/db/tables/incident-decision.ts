import type { RecordedDecision } from "../../breach/decision";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_decision` (append-only): each decision on an incident — whom to tell,
 * which Art. 34(3) exemption, the rationale and any justification for departing from the
 * severity — against the assessment it answers. The latest one is in force.
 */

/** A stored decision. */
export interface DecisionRow {
  id: string;
  incident_id: string;
  assessment_id: string;
  record: RecordedDecision;
  decided_by: string;
  created_at: Date;
}

/** Stores a decision with its `incident.decided` audit entry (one statement). */
export async function insertDecision(q: Sql, incidentId: string, assessmentId: string, d: RecordedDecision): Promise<DecisionRow> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_decision (incident_id, assessment_id, record, decided_by) VALUES ($1, $2, $3, $4) RETURNING *),
     i AS (SELECT ins.*, inc.reference FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${appendAuditSql(
       {
         event: "'incident.decided'",
         actor: "decided_by",
         detail: `jsonb_build_object('incidentId', incident_id, 'reference', reference, 'decisionId', id, 'assessmentId', assessment_id,
                    'notifyAuthority', record->'notifyAuthority', 'notifySubjects', record->'notifySubjects', 'publicNotice', record->'publicNotice',
                    'subjectExemption', record->'subjectExemption', 'deviations', record->'deviations')`,
       },
       "i",
     )})
     SELECT * FROM ins`,
    [incidentId, assessmentId, JSON.stringify(d), d.decidedBy],
  )) as DecisionRow[];
  return rows[0]!;
}

/** The decision in force (the latest), or null. */
export async function latestDecision(q: Sql, incidentId: string): Promise<DecisionRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_decision WHERE incident_id = $1 ORDER BY id DESC LIMIT 1`, [incidentId])) as DecisionRow[];
  return rows[0] ?? null;
}

/** Every decision of an incident, oldest first. */
export async function decisionsOf(q: Sql, incidentId: string): Promise<DecisionRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident_decision WHERE incident_id = $1 ORDER BY id`, [incidentId])) as DecisionRow[];
}
