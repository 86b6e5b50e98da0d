import { marksReached, readClock } from "../breach/clock";
import { isClockRunning } from "../breach/status";
import { advisePublicNoticeRow, clockCandidates, contactsDueForWipe, finishFanoutRow, markContactsWiped, runningFanouts } from "../db/tables/incident";
import { wipeContacts } from "../db/tables/incident-affected";
import { recordClockMark, type WarningMark } from "../db/tables/incident-clock-mark";
import { latestDecision } from "../db/tables/incident-decision";
import { hasPendingNotifications, notificationCounts, notificationLedgerHash, undeliverableCount } from "../db/tables/notification";
import type { Logger } from "../logger";
import type { Services } from "../services";
import { advance, requireIncident } from "./register";

/** What one tick did (ids and counts only). */
export interface TickOutcome {
  marks: number;
  fanoutsDone: number;
  advised: number;
  wiped: number;
}

/**
 * The `breach-tick` job. (1) The authority's clock: for every incident whose clock runs, each mark
 * reached (24 h left, 6 h left, overdue) is recorded, logged and audited once — the mark's primary
 * key makes a second tick or worker a no-op, and a missed tick catches up. (2) Running fan-outs:
 * past the undeliverable threshold the incident advises a public notice (once); with nothing left
 * pending the fan-out is done, its ledger hashed into the audit chain, and the status moves on
 * when the guard allows. (3) Closed incidents past their delay have their sealed contacts wiped.
 */
export async function breachTick(services: Pick<Services, "ds" | "config">, log: Logger, now = new Date()): Promise<TickOutcome> {
  const { ds, config } = services;
  const outcome: TickOutcome = { marks: 0, fanoutsDone: 0, advised: 0, wiped: 0 };
  for (const row of await clockCandidates(ds)) {
    const decision = (await latestDecision(ds, row.id))?.record ?? null;
    if (!isClockRunning(row.status, { decision, authorityNotified: row.authority_notified_at !== null })) continue;
    const clock = readClock(row.aware_at, now);
    for (const mark of marksReached("running", clock.mark) as WarningMark[]) {
      if (!(await recordClockMark(ds, row.id, mark, clock.secondsLeft))) continue;
      outcome.marks++;
      log.warn(
        { event: "incident.clock", incidentId: row.id, reference: row.reference, mark, secondsLeft: clock.secondsLeft, deadline: clock.deadline.toISOString() },
        mark === "overdue"
          ? "incident: the 72-hour deadline to notify the authority has passed"
          : `incident: ${mark.replace("_", " ")} to notify the authority`,
      );
    }
  }
  for (const row of await runningFanouts(ds)) {
    // Cheap reads while notices go out (a tick may come every few hundred ms); the full counts only once nothing is pending.
    const undeliverable = row.public_notice_advised_at === null ? await undeliverableCount(ds, row.id) : 0;
    if (undeliverable > 0) {
      const { total } = await notificationCounts(ds, row.id);
      const share = total === 0 ? 0 : undeliverable / total;
      if (share > config.breachUndeliverableThreshold && (await advisePublicNoticeRow(ds, row.id, share, config.breachUndeliverableThreshold))) {
        outcome.advised++;
        log.warn({ incidentId: row.id, reference: row.reference, undeliverable, total }, "incident: consider a public notice (Art. 34(3)(c))");
      }
    }
    if (await hasPendingNotifications(ds, row.id)) continue;
    const c = await notificationCounts(ds, row.id);
    if (c.queued + c.sending > 0) continue;
    const done = await ds.transaction(async (m) => {
      const locked = await requireIncident(m, row.id, true);
      if (locked.fanout_state !== "running") return false;
      const finished = await finishFanoutRow(m, row.id, {
        sent: c.sent,
        undeliverable: c.undeliverable,
        resent: c.resent,
        ledgerHash: await notificationLedgerHash(m, row.id),
      });
      if (finished) await advance(m, finished, "lethe", config);
      return finished !== null;
    });
    if (done) {
      outcome.fanoutsDone++;
      log.info({ incidentId: row.id, reference: row.reference, sent: c.sent, undeliverable: c.undeliverable }, "incident: every notice is out");
    }
  }
  for (const id of await contactsDueForWipe(ds)) {
    const wiped = await ds.transaction(async (m) => {
      const n = await wipeContacts(m, id);
      await markContactsWiped(m, id, n);
      return n;
    });
    outcome.wiped += wiped;
    log.info({ incidentId: id, wiped }, "incident: sealed contacts wiped");
  }
  return outcome;
}
