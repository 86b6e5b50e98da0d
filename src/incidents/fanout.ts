import { z } from "zod";
import { parseBreachInput, requiredText } from "../breach/input-error";
import type { Config } from "../config";
import { pauseFanoutRow, resumeFanoutRow, startFanoutRow, type IncidentRow } from "../db/tables/incident";
import { affectedCount } from "../db/tables/incident-affected";
import { latestDecision } from "../db/tables/incident-decision";
import { latestNotice, noticeVersion } from "../db/tables/incident-notice";
import { notificationCounts, queueNotifications } from "../db/tables/notification";
import type { Sql } from "../db/tables/sql";
import { SYNC_NOTICES } from "../queues/jobs/sync-notices";
import type { Queues, Services } from "../services";
import { IncidentConflictError } from "./errors";
import { assertNotFinal, requireIncident } from "./register";

/**
 * The fan-out of notices to the affected people, exactly once per (incident, person, notice
 * version): `notify` writes every notification row first (one statement, unique key), then a
 * `sync-notices` job feeds them to the mail queue in chunks. Pause (a law-enforcement request to
 * delay) and resume are audited; a paused fan-out's waiting jobs are taken off the queue and sends
 * already claimed finish. Progress comes from the rows: sent, pending, undeliverable.
 */

/** Where an incident's fan-out stands. */
export interface FanoutProgress {
  state: IncidentRow["fanout_state"];
  noticeVersion: number | null;
  startedAt: string | null;
  doneAt: string | null;
  pauseReason: string | null;
  total: number;
  sent: number;
  pending: number;
  undeliverable: number;
  /** Sends taken over after a worker died mid-send: those people may have the notice twice (same notification id). */
  resentInDoubt: number;
  undeliverableShare: number;
  threshold: number;
  /** The undeliverable share passed the threshold: a public notice (Art. 34(3)(c)) should be considered. */
  publicNoticeAdvised: boolean;
  publicNoticeGivenAt: string | null;
}

/** Progress of an incident's fan-out (all notice versions). */
export async function fanoutProgress(q: Sql, config: Pick<Config, "breachUndeliverableThreshold">, row: IncidentRow): Promise<FanoutProgress> {
  const c = await notificationCounts(q, row.id);
  const share = c.total === 0 ? 0 : c.undeliverable / c.total;
  return {
    state: row.fanout_state,
    noticeVersion: row.fanout_notice_version,
    startedAt: row.fanout_started_at?.toISOString() ?? null,
    doneAt: row.fanout_done_at?.toISOString() ?? null,
    pauseReason: row.pause_reason,
    total: c.total,
    sent: c.sent,
    pending: c.queued + c.sending,
    undeliverable: c.undeliverable,
    resentInDoubt: c.resent,
    undeliverableShare: share,
    threshold: config.breachUndeliverableThreshold,
    publicNoticeAdvised: row.public_notice_advised_at !== null || share > config.breachUndeliverableThreshold,
    publicNoticeGivenAt: row.public_notice_given_at?.toISOString() ?? null,
  };
}

/** What starting, pausing and resuming a fan-out use: the register and the breach queue. */
export type FanoutDeps = Pick<Services, "ds" | "config"> & { queues: Pick<Queues, "breach"> };

/** Enqueues the job that makes the mail queue agree with the incident's rows as they are now. */
export async function syncNotices(services: Pick<FanoutDeps, "config" | "queues">, row: IncidentRow): Promise<void> {
  await SYNC_NOTICES.enqueue(services.queues.breach, services.config, { incidentId: row.id, generation: row.updated_at.getTime() });
}

/** Body of `notify`: which notice version (Default: the latest). */
export const NotifySchema = z.object({ noticeVersion: z.number().int().min(1).optional() }).strict();

/**
 * Starts telling the people: the decision must tell them, a scope must be frozen and a notice
 * prepared. Writes one row per person for the version (existing rows stay), marks the fan-out
 * running, then enqueues the sync. Calling it again is harmless (nothing is queued twice).
 */
export async function notifySubjects(services: FanoutDeps, id: string, input: unknown, by: string): Promise<FanoutProgress> {
  const body = parseBreachInput("notify", NotifySchema, input ?? {});
  const started = await services.ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    assertNotFinal(row, "notify people");
    if (row.fanout_state === "paused")
      throw new IncidentConflictError(`incident ${row.reference}'s notices are paused (${row.pause_reason ?? "no reason given"}); resume them first`);
    const decision = (await latestDecision(m, row.id))?.record;
    if (!decision?.notifySubjects)
      throw new IncidentConflictError(`the decision in force for ${row.reference} does not tell the people individually; record a decision that does`);
    const notice = body.noticeVersion ? await noticeVersion(m, row.id, body.noticeVersion) : await latestNotice(m, row.id);
    if (!notice)
      throw new IncidentConflictError(
        `incident ${row.reference} has no notice${body.noticeVersion ? ` version ${body.noticeVersion}` : ""}; prepare one first`,
      );
    if ((await affectedCount(m, row.id)) === 0) throw new IncidentConflictError(`incident ${row.reference} has no affected people; freeze a scope first`);
    const queued = await queueNotifications(m, row.id, notice.version);
    const moved = await startFanoutRow(m, row.id, by, notice.version, queued);
    if (!moved) throw new IncidentConflictError(`incident ${row.reference}'s fan-out changed meanwhile; try again`);
    return moved;
  });
  await syncNotices(services, started);
  return fanoutProgress(services.ds, services.config, started);
}

/** Body of `pause`. */
export const PauseSchema = z.object({ reason: requiredText("reason", 3, 2000) }).strict();

/** Pauses a running fan-out (audited with the reason); waiting notice jobs are taken off the queue. */
export async function pauseNotices(services: FanoutDeps, id: string, input: unknown, by: string): Promise<FanoutProgress> {
  const body = parseBreachInput("pause", PauseSchema, input);
  const row = await requireIncident(services.ds, id);
  const paused = await pauseFanoutRow(services.ds, row.id, by, body.reason);
  if (!paused) throw new IncidentConflictError(`incident ${row.reference}'s notices are ${row.fanout_state}, not running`);
  await syncNotices(services, paused);
  return fanoutProgress(services.ds, services.config, paused);
}

/** Resumes a paused fan-out (audited); its pending notices are queued again. */
export async function resumeNotices(services: FanoutDeps, id: string, by: string): Promise<FanoutProgress> {
  const row = await requireIncident(services.ds, id);
  assertNotFinal(row, "resume notices");
  const resumed = await resumeFanoutRow(services.ds, row.id, by);
  if (!resumed) throw new IncidentConflictError(`incident ${row.reference}'s notices are ${row.fanout_state}, not paused`);
  await syncNotices(services, resumed);
  return fanoutProgress(services.ds, services.config, resumed);
}
