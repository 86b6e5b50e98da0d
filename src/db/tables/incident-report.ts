import type { Report } from "../../breach/report";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_report` (append-only): the versions of the report to the supervisory
 * authority (Art. 33(3), in phases per 33(4)), each a whole document as validated by the core.
 */

/** A stored report version. */
export interface ReportRow {
  incident_id: string;
  version: number;
  kind: Report["kind"];
  final: boolean;
  document: Report;
  submitted_at: Date;
  created_by: string;
  created_at: Date;
}

/**
 * Stores a version with its `incident.reported` audit entry (one statement). The primary key
 * (incident, version) refuses a second version with the same number (a concurrent submission).
 */
export async function insertReport(q: Sql, incidentId: string, report: Report, by: string): Promise<ReportRow> {
  const final = report.kind === "withdrawal" ? true : report.final;
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_report (incident_id, version, kind, final, document, submitted_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *),
     i AS (SELECT ins.*, inc.reference FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${appendAuditSql(
       {
         event: "'incident.reported'",
         actor: "created_by",
         detail: `jsonb_build_object('incidentId', incident_id, 'reference', reference, 'version', version, 'kind', kind, 'final', final,
                    'submittedAt', submitted_at, 'documentSha256', encode(sha256(convert_to(document::text, 'UTF8')), 'hex'))`,
       },
       "i",
     )})
     SELECT * FROM ins`,
    [incidentId, report.version, report.kind, final, JSON.stringify(report), report.submittedAt, by],
  )) as ReportRow[];
  return rows[0]!;
}

/** Every version of an incident's report, oldest first. */
export async function reportsOf(q: Sql, incidentId: string): Promise<ReportRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident_report WHERE incident_id = $1 ORDER BY version`, [incidentId])) as ReportRow[];
}

/** One version, or null. */
export async function reportVersion(q: Sql, incidentId: string, version: number): Promise<ReportRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_report WHERE incident_id = $1 AND version = $2`, [incidentId, version])) as ReportRow[];
  return rows[0] ?? null;
}

/** The latest version, or null. */
export async function latestReport(q: Sql, incidentId: string): Promise<ReportRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_report WHERE incident_id = $1 ORDER BY version DESC LIMIT 1`, [incidentId])) as ReportRow[];
  return rows[0] ?? null;
}

/** How many versions each incident has, and its latest (for the register's list and export). */
export async function reportSummaries(
  q: Sql,
  incidentIds: string[],
): Promise<Map<string, { versions: number; latest: Pick<ReportRow, "version" | "kind" | "final" | "submitted_at"> }>> {
  const rows = (await q.query(
    `SELECT DISTINCT ON (incident_id) incident_id, version, kind, final, submitted_at, count(*) OVER (PARTITION BY incident_id)::int AS versions
       FROM lethe.incident_report WHERE incident_id = ANY($1::uuid[]) ORDER BY incident_id, version DESC`,
    [incidentIds],
  )) as Array<Pick<ReportRow, "incident_id" | "version" | "kind" | "final" | "submitted_at"> & { versions: number }>;
  return new Map(
    rows.map((r) => [r.incident_id, { versions: r.versions, latest: { version: r.version, kind: r.kind, final: r.final, submitted_at: r.submitted_at } }]),
  );
}
