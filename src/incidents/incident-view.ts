import { readClock, type ClockMark } from "../breach/clock";
import type { DecisionDeviation, SubjectExemption } from "../breach/decision";
import type { SeverityBand } from "../breach/severity";
import { isClockRunning, nextStatuses, type IncidentStatus } from "../breach/status";
import type { Config } from "../config";
import type { IncidentRow } from "../db/tables/incident";
import { latestAssessment } from "../db/tables/incident-assessment";
import { marksOf, type WarningMark } from "../db/tables/incident-clock-mark";
import { latestDecision } from "../db/tables/incident-decision";
import { reportSummaries } from "../db/tables/incident-report";
import type { Sql } from "../db/tables/sql";
import type { BreachKind } from "../breach/breach-types";
import { fanoutProgress, type FanoutProgress } from "./fanout";

/** An incident as the API shows it: facts, clock, severity, decision, reports and notices — never data of the people. */
export interface IncidentView {
  id: string;
  reference: string;
  status: IncidentStatus;
  title: string;
  description: string;
  kinds: BreachKind[];
  detectedAt: string;
  awareAt: string;
  occurred: { from: string; until: string | null } | null;
  stores: string[];
  systems: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** The authority's 72-hour clock; `running` false once the authority was notified, a decision says it need not be, or the incident ended. */
  clock: { deadline: string; secondsLeft: number; mark: ClockMark; running: boolean; marksReached: WarningMark[] };
  authorityNotifiedAt: string | null;
  /** The authority was notified after the deadline (null: not notified). */
  late: boolean | null;
  final: { status: IncidentStatus; at: string; rationale: string | null } | null;
  affected: { people: number; records: number } | null;
  severity: { score: number; band: SeverityBand; method: string; assessedAt: string; assessedBy: string } | null;
  decision: {
    notifyAuthority: boolean;
    notifySubjects: boolean;
    publicNotice: boolean;
    subjectExemption: SubjectExemption | null;
    deviations: DecisionDeviation[];
    decidedAt: string;
    decidedBy: string;
  } | null;
  reports: { versions: number; latest: { version: number; kind: string; final: boolean; submittedAt: string } | null };
  notices: FanoutProgress;
  publicNotice: { advisedAt: string | null; givenAt: string | null; where: string | null };
  contacts: { wipeAfter: string | null; wipedAt: string | null };
  /** Statuses the machine could move to from here (whether their guards hold is another matter). */
  nextStatuses: IncidentStatus[];
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/** The full view of one incident (a few reads). */
export async function incidentView(q: Sql, config: Pick<Config, "breachUndeliverableThreshold">, row: IncidentRow, now: Date): Promise<IncidentView> {
  const [assessment, decisionRow, marks, reports, notices] = await Promise.all([
    latestAssessment(q, row.id),
    latestDecision(q, row.id),
    marksOf(q, [row.id]),
    reportSummaries(q, [row.id]),
    fanoutProgress(q, config, row),
  ]);
  const decision = decisionRow?.record ?? null;
  const clock = readClock(row.aware_at, now);
  const running = isClockRunning(row.status, { decision, authorityNotified: row.authority_notified_at !== null });
  const report = reports.get(row.id);
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    title: row.title,
    description: row.description,
    kinds: row.kinds,
    detectedAt: row.detected_at.toISOString(),
    awareAt: row.aware_at.toISOString(),
    occurred: row.occurred_from ? { from: row.occurred_from.toISOString(), until: iso(row.occurred_until) } : null,
    stores: row.stores,
    systems: row.systems,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    clock: { deadline: clock.deadline.toISOString(), secondsLeft: clock.secondsLeft, mark: clock.mark, running, marksReached: marks.get(row.id) ?? [] },
    authorityNotifiedAt: iso(row.authority_notified_at),
    late: row.authority_notified_at ? row.authority_notified_at.getTime() > clock.deadline.getTime() : null,
    final: row.final_at ? { status: row.status, at: row.final_at.toISOString(), rationale: row.final_rationale } : null,
    affected: row.affected_subjects === null ? null : { people: row.affected_subjects, records: Number(row.affected_records ?? 0) },
    severity: assessment
      ? {
          score: Number(assessment.score),
          band: assessment.band,
          method: assessment.method,
          assessedAt: assessment.created_at.toISOString(),
          assessedBy: assessment.assessed_by,
        }
      : null,
    decision:
      decision && decisionRow
        ? {
            notifyAuthority: decision.notifyAuthority,
            notifySubjects: decision.notifySubjects,
            publicNotice: decision.publicNotice,
            subjectExemption: decision.subjectExemption,
            deviations: decision.deviations,
            decidedAt: decision.decidedAt,
            decidedBy: decisionRow.decided_by,
          }
        : null,
    reports: {
      versions: report?.versions ?? 0,
      latest: report
        ? { version: report.latest.version, kind: report.latest.kind, final: report.latest.final, submittedAt: report.latest.submitted_at.toISOString() }
        : null,
    },
    notices,
    publicNotice: { advisedAt: iso(row.public_notice_advised_at), givenAt: iso(row.public_notice_given_at), where: row.public_notice_where },
    contacts: { wipeAfter: iso(row.contacts_wipe_after), wipedAt: iso(row.contacts_wiped_at) },
    nextStatuses: nextStatuses(row.status),
  };
}
