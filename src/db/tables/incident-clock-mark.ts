import type { ClockMark } from "../../breach/clock";
import { incidentAuditSql } from "./incident";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_clock_mark`: each mark of the authority's 72-hour clock (24 h left, 6 h
 * left, overdue) an incident reached, once — the primary key makes a second tick (or a second
 * worker) a no-op, so the log event and the audit entry happen exactly once per mark.
 */

/** A warning mark (every mark but `running`). */
export type WarningMark = Exclude<ClockMark, "running">;

/**
 * Records `mark` for the incident unless it was recorded before, with its `incident.clock` audit
 * entry, in one statement. True when this call recorded it.
 */
export async function recordClockMark(q: Sql, incidentId: string, mark: WarningMark, secondsLeft: number): Promise<boolean> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_clock_mark (incident_id, mark, seconds_left) VALUES ($1, $2, $3)
       ON CONFLICT (incident_id, mark) DO NOTHING RETURNING incident_id, mark, seconds_left),
     i AS (SELECT inc.id, inc.reference, ins.mark, ins.seconds_left FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${incidentAuditSql("incident.clock", "'lethe'", "i", "jsonb_build_object('mark', mark, 'secondsLeft', seconds_left)")})
     SELECT mark FROM ins`,
    [incidentId, mark, secondsLeft],
  )) as Array<{ mark: string }>;
  return rows.length === 1;
}

/** The marks each incident reached, by incident id. */
export async function marksOf(q: Sql, incidentIds: string[]): Promise<Map<string, WarningMark[]>> {
  const rows = (await q.query(
    `SELECT incident_id, mark FROM lethe.incident_clock_mark WHERE incident_id = ANY($1::uuid[]) ORDER BY incident_id, reached_at, seconds_left DESC`,
    [incidentIds],
  )) as Array<{ incident_id: string; mark: WarningMark }>;
  const out = new Map<string, WarningMark[]>();
  for (const r of rows) out.set(r.incident_id, [...(out.get(r.incident_id) ?? []), r.mark]);
  return out;
}

/** How many incidents reached each mark (for the metrics). */
export async function clockMarkCounts(q: Sql): Promise<Array<{ mark: WarningMark; n: number }>> {
  return (await q.query(`SELECT mark, count(*)::int AS n FROM lethe.incident_clock_mark GROUP BY mark`)) as Array<{ mark: WarningMark; n: number }>;
}
