import { Gauge, type Registry } from "prom-client";
import type { DataSource } from "typeorm";
import { readClock } from "../breach/clock";
import { isClockRunning } from "../breach/status";
import { clockCandidates, incidentCounts } from "../db/tables/incident";
import { clockMarkCounts } from "../db/tables/incident-clock-mark";
import { latestDecision } from "../db/tables/incident-decision";
import { notificationStatusCounts } from "../db/tables/notification";

/**
 * The breach register's metrics, from Postgres at scrape time: seconds left on each running
 * 72-hour clock (negative once overdue), how many incidents reached each mark (a mark is recorded
 * once per incident, by the `breach-tick` job), incidents by status, notifications by status.
 * Labels: incident references, statuses and marks — never a person.
 */
export function defineIncidentGauges(registry: Registry, ds: DataSource): () => Promise<void> {
  const secondsLeft = new Gauge({
    name: "lethe_incident_seconds_left",
    help: "Seconds until the 72-hour deadline to notify the supervisory authority, per incident whose clock runs (negative: overdue)",
    labelNames: ["incident"],
    registers: [registry],
  });
  const marks = new Gauge({
    name: "lethe_incident_clock_marks",
    help: "Incidents that reached each clock mark (24h_left, 6h_left, overdue); each mark counts once per incident",
    labelNames: ["mark"],
    registers: [registry],
  });
  const incidents = new Gauge({ name: "lethe_incidents", help: "Incidents in the breach register by status", labelNames: ["status"], registers: [registry] });
  const notices = new Gauge({ name: "lethe_incident_notifications", help: "Breach notices by status", labelNames: ["status"], registers: [registry] });

  return async (): Promise<void> => {
    const now = new Date();
    const [candidates, markRows, statusRows, noticeRows] = await Promise.all([
      clockCandidates(ds),
      clockMarkCounts(ds),
      incidentCounts(ds),
      notificationStatusCounts(ds),
    ]);
    secondsLeft.reset();
    for (const row of candidates) {
      const decision = (await latestDecision(ds, row.id))?.record ?? null;
      if (!isClockRunning(row.status, { decision, authorityNotified: row.authority_notified_at !== null })) continue;
      secondsLeft.set({ incident: row.reference }, readClock(row.aware_at, now).secondsLeft);
    }
    marks.reset();
    for (const mark of ["24h_left", "6h_left", "overdue"]) marks.set({ mark }, markRows.find((r) => r.mark === mark)?.n ?? 0);
    incidents.reset();
    for (const r of statusRows) incidents.set({ status: r.status }, r.n);
    notices.reset();
    for (const r of noticeRows) notices.set({ status: r.status }, r.n);
  };
}
