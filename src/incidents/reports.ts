import type { DataSource } from "typeorm";
import { BreachInputError } from "../breach/input-error";
import { isToFollow, validateReport, type Report } from "../breach/report";
import { diffReports, type ReportChange } from "../breach/report-diff";
import { renderReportHtml } from "../breach/report-render";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { markAuthorityNotified } from "../db/tables/incident";
import { insertReport, latestReport, reportsOf, reportVersion, type ReportRow } from "../db/tables/incident-report";
import { scopesOf } from "../db/tables/incident-scope";
import type { Sql } from "../db/tables/sql";
import { IncidentConflictError, IncidentNotFoundError } from "./errors";
import { advance, assertNotFinal, requireIncident } from "./register";

/**
 * Reports to the supervisory authority in phases (Art. 33(3), 33(4)), validated by the core: the
 * caller sends the content; Lethe sets what identifies the version (incident reference, version,
 * awareness and detection times), so a version can never contradict the register. The first
 * initial report records the authority as notified and moves the status on; a late one without
 * reasons for the delay is refused. A draft of the next version is pre-filled from the previous
 * one and the frozen scopes (approximate numbers, data categories).
 */

/** Fields Lethe sets on every version; a body that sends them is refused. */
const SET_BY_LETHE = ["incidentId", "version", "awareAt", "detectedAt"] as const;

/** Submits the next version. */
export async function submitReport(
  ds: DataSource,
  config: Pick<Config, "breachContactWipeHours">,
  id: string,
  input: unknown,
  by: string,
  now: Date,
): Promise<ReportRow> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new BreachInputError("report", [{ field: "(root)", message: "send the report as a JSON object" }]);
  }
  const given = SET_BY_LETHE.filter((k) => k in input);
  if (given.length > 0)
    throw new BreachInputError(
      "report",
      given.map((field) => ({ field, message: "is set by Lethe from the register; leave it out" })),
    );
  return ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    assertNotFinal(row, "take a new report version");
    const prev = await latestReport(m, row.id);
    const doc = {
      submittedAt: now.toISOString(),
      ...input,
      incidentId: row.reference,
      version: (prev?.version ?? 0) + 1,
      awareAt: row.aware_at.toISOString(),
      detectedAt: row.detected_at.toISOString(),
    };
    const report = validateReport(prev?.document ?? null, doc);
    const stored = await insertReport(m, row.id, report, by);
    if (report.kind === "initial") await markAuthorityNotified(m, row.id, new Date(report.submittedAt));
    await advance(m, await requireIncident(m, row.id), by, config);
    return stored;
  });
}

/** Every version, oldest first. */
export async function reportVersions(q: Sql, id: string): Promise<ReportRow[]> {
  const row = await requireIncident(q, id);
  return reportsOf(q, row.id);
}

/** One version with what changed since the previous one. */
export async function reportWithDiff(q: Sql, id: string, version: number): Promise<{ report: ReportRow; changes: ReportChange[] | null; html: string }> {
  const row = await requireIncident(q, id);
  const report = await reportVersion(q, row.id, version);
  if (!report) throw new IncidentNotFoundError(`incident ${row.reference} has no report version ${version}`);
  const previous = version > 1 ? await reportVersion(q, row.id, version - 1) : null;
  return {
    report,
    changes: previous ? diffReports(previous.document, report.document) : null,
    html: renderReportHtml(report.document, previous?.document ?? null),
  };
}

const toFollow = { toFollow: true as const };

/**
 * A draft of the next version, for the caller to complete and submit: the previous version's
 * content (or the register's facts for an initial report), with the approximate numbers of people
 * and records and the data categories taken from the frozen scopes.
 */
export async function draftReport(q: Sql, dataMap: DataMap, id: string, now: Date): Promise<Record<string, unknown>> {
  const row = await requireIncident(q, id);
  const prev = (await latestReport(q, row.id))?.document ?? null;
  if (prev?.kind === "withdrawal") throw new IncidentConflictError(`incident ${row.reference}'s report was withdrawn; no version can follow`);
  const frozen = (await scopesOf(q, row.id)).filter((s) => s.state === "frozen");
  const categories = [...new Set(frozen.flatMap((s) => Object.keys((s.counts?.categories as Record<string, unknown> | undefined) ?? {})))].sort();
  const content = prev;
  const pick = <T>(fromPrev: T | undefined, fallback: unknown): unknown => (fromPrev !== undefined && !isToFollow(fromPrev) ? fromPrev : fallback);
  const controller = dataMap.controller;
  const contact = controller?.dpo?.includes("@") ? { name: controller.dpo, role: "data protection officer", email: controller.dpo } : toFollow;
  return {
    kind: content ? "follow_up" : "initial",
    final: false,
    submittedAt: now.toISOString(),
    nature: {
      description: pick(content?.nature.description, row.description),
      kinds: content?.nature.kinds ?? row.kinds,
      occurred: pick(
        content?.nature.occurred,
        row.occurred_from ? { from: row.occurred_from.toISOString(), until: row.occurred_until?.toISOString() ?? null } : toFollow,
      ),
      dataCategories: categories.length > 0 ? categories : pick(content?.nature.dataCategories, toFollow),
      subjectCategories: pick(content?.nature.subjectCategories, toFollow),
      approxSubjects: row.affected_subjects ?? pick(content?.nature.approxSubjects, toFollow),
      approxRecords: row.affected_records !== null ? Number(row.affected_records) : pick(content?.nature.approxRecords, toFollow),
    },
    contact: pick(content?.contact, contact),
    consequences: pick(content?.consequences, toFollow),
    measures: { taken: pick(content?.measures.taken, toFollow), proposed: pick(content?.measures.proposed, toFollow) },
  };
}

/** The latest version as a document, or null. */
export async function latestReportDocument(q: Sql, incidentId: string): Promise<Report | null> {
  return (await latestReport(q, incidentId))?.document ?? null;
}
