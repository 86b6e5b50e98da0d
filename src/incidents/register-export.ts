import type { Config } from "../config";
import { allIncidentRows } from "../db/tables/incident";
import type { Sql } from "../db/tables/sql";
import { incidentView, type IncidentView } from "./incident-view";

/**
 * The register (Art. 33(5)) exported whole: every incident, notified or not, including those found
 * not to be a breach — as JSON (the full views) or CSV (one line per incident, the facts an
 * authority asks for first).
 */

/** Every incident's view, oldest first. */
export async function exportRegister(q: Sql, config: Pick<Config, "breachUndeliverableThreshold">, now: Date): Promise<IncidentView[]> {
  const out: IncidentView[] = [];
  for (const row of await allIncidentRows(q)) out.push(await incidentView(q, config, row, now));
  return out;
}

/** A CSV cell's value. */
type Cell = string | number | boolean | null | undefined;

/** The CSV columns, in order, with how each is read from a view. */
export const REGISTER_CSV_COLUMNS: ReadonlyArray<[string, (v: IncidentView) => Cell]> = [
  ["reference", (v) => v.reference],
  ["id", (v) => v.id],
  ["status", (v) => v.status],
  ["title", (v) => v.title],
  ["kinds", (v) => v.kinds.join("|")],
  ["detected_at", (v) => v.detectedAt],
  ["aware_at", (v) => v.awareAt],
  ["deadline", (v) => v.clock.deadline],
  ["authority_notified_at", (v) => v.authorityNotifiedAt],
  ["late", (v) => v.late],
  ["clock_marks", (v) => v.clock.marksReached.join("|")],
  ["affected_people", (v) => v.affected?.people],
  ["affected_records", (v) => v.affected?.records],
  ["severity_score", (v) => v.severity?.score],
  ["severity_band", (v) => v.severity?.band],
  ["severity_method", (v) => v.severity?.method],
  ["notify_authority", (v) => v.decision?.notifyAuthority],
  ["notify_subjects", (v) => v.decision?.notifySubjects],
  ["public_notice", (v) => v.decision?.publicNotice],
  ["subject_exemption", (v) => v.decision?.subjectExemption],
  ["report_versions", (v) => v.reports.versions],
  ["report_latest_kind", (v) => v.reports.latest?.kind],
  ["report_complete", (v) => v.reports.latest?.final],
  ["notices_sent", (v) => v.notices.sent],
  ["notices_pending", (v) => v.notices.pending],
  ["notices_undeliverable", (v) => v.notices.undeliverable],
  ["closed_at", (v) => v.final?.at],
  ["final_rationale", (v) => v.final?.rationale],
  ["created_by", (v) => v.createdBy],
  ["created_at", (v) => v.createdAt],
];

/** One CSV cell (RFC 4180): quoted when needed; a leading `= + - @` is neutralized so a spreadsheet never runs it as a formula. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  let s = typeof value === "string" ? value : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The register as CSV (header line first, CRLF line ends). */
export function registerCsv(views: readonly IncidentView[]): string {
  const lines = [REGISTER_CSV_COLUMNS.map(([name]) => name).join(",")];
  for (const v of views) lines.push(REGISTER_CSV_COLUMNS.map(([, read]) => csvCell(read(v))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
