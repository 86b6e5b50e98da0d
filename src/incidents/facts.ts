import type { TransitionFacts } from "../breach/status";
import type { IncidentRow } from "../db/tables/incident";
import { latestDecision } from "../db/tables/incident-decision";
import { reportsOf } from "../db/tables/incident-report";
import type { Sql } from "../db/tables/sql";

/**
 * The facts the status machine's guards read (`breach/status`), loaded from the register: the
 * decision in force, whether the authority was notified and the latest report is complete, whether
 * a withdrawal was filed, and whether the people were told (every notice final, and the public
 * notice given when the decision calls for one).
 */
export async function transitionFacts(q: Sql, row: IncidentRow): Promise<TransitionFacts> {
  const [decisionRow, reports] = await Promise.all([latestDecision(q, row.id), reportsOf(q, row.id)]);
  const decision = decisionRow?.record ?? null;
  const latest = reports.at(-1);
  const individualDone = row.fanout_state === "done";
  const publicDone = row.public_notice_given_at !== null;
  const subjectsNotified =
    decision !== null &&
    (decision.notifySubjects ? individualDone : true) &&
    (decision.publicNotice ? publicDone : true) &&
    (decision.notifySubjects || decision.publicNotice);
  return {
    decision: decision ? { notifyAuthority: decision.notifyAuthority, notifySubjects: decision.notifySubjects, publicNotice: decision.publicNotice } : null,
    authorityNotified: row.authority_notified_at !== null,
    latestReportComplete: latest !== undefined && (latest.kind === "withdrawal" || latest.final),
    withdrawalFiled: reports.some((r) => r.kind === "withdrawal"),
    subjectsNotified,
  };
}
