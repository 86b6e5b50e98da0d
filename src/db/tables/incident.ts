import type { BreachKind } from "../../breach/breach-types";
import type { IncidentStatus } from "../../breach/status";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident`: the breach register (Art. 33(5)). Every change is one statement that
 * also appends its audit entry (`detail.incidentId` names the incident), so the register and its
 * audit trail never disagree. Incidents are never deleted. Rows hold facts about the incident,
 * never data of the affected people.
 */

/** Where an incident's notice fan-out stands. */
export type FanoutState = "none" | "running" | "paused" | "done";

/** An incident row as the register reads it. */
export interface IncidentRow {
  id: string;
  reference: string;
  status: IncidentStatus;
  title: string;
  description: string;
  kinds: BreachKind[];
  detected_at: Date;
  aware_at: Date;
  occurred_from: Date | null;
  occurred_until: Date | null;
  stores: string[];
  systems: string[];
  created_by: string;
  created_at: Date;
  updated_at: Date;
  authority_notified_at: Date | null;
  final_at: Date | null;
  final_rationale: string | null;
  affected_subjects: number | null;
  affected_records: string | null;
  fanout_state: FanoutState;
  fanout_notice_version: number | null;
  fanout_started_at: Date | null;
  fanout_done_at: Date | null;
  pause_reason: string | null;
  public_notice_advised_at: Date | null;
  public_notice_given_at: Date | null;
  public_notice_where: string | null;
  contacts_wipe_after: Date | null;
  contacts_wiped_at: Date | null;
}

/** What a new incident records. */
export interface NewIncident {
  title: string;
  description: string;
  kinds: BreachKind[];
  detectedAt: Date;
  awareAt: Date;
  occurredFrom: Date | null;
  occurredUntil: Date | null;
  stores: string[];
  systems: string[];
  createdBy: string;
}

/** SQL condition (alias-free) of an incident that has not reached a final status. */
export const INCIDENT_OPEN_SQL = "status NOT IN ('closed','not_a_breach')";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An audit fragment for an incident event: `detail` gets `incidentId` plus the `extra` jsonb (a SQL expression). */
export function incidentAuditSql(event: string, actor: string, from: string, extra = "'{}'::jsonb"): string {
  return appendAuditSql({ event: `'${event}'`, actor, detail: `jsonb_build_object('incidentId', id, 'reference', reference) || ${extra}` }, from);
}

/** Inserts an incident and its `incident.created` audit entry (one statement); returns the row. */
export async function insertIncident(q: Sql, n: NewIncident): Promise<IncidentRow> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident (reference, title, description, kinds, detected_at, aware_at, occurred_from, occurred_until, stores, systems, created_by)
       VALUES ('BR-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || '-' || lpad(nextval('lethe.incident_number')::text, 4, '0'),
               $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING *),
     audit AS (${incidentAuditSql("incident.created", "created_by", "ins", "jsonb_build_object('kinds', kinds, 'awareAt', aware_at, 'detectedAt', detected_at)")})
     SELECT * FROM ins`,
    [n.title, n.description, n.kinds, n.detectedAt, n.awareAt, n.occurredFrom, n.occurredUntil, n.stores, n.systems, n.createdBy],
  )) as IncidentRow[];
  return rows[0]!;
}

/** One incident by id or by reference (`BR-2025-0001`), or null. `forUpdate` locks it (inside a transaction). */
export async function getIncidentRow(q: Sql, idOrReference: string, forUpdate = false): Promise<IncidentRow | null> {
  const byId = UUID.test(idOrReference);
  const rows = (await q.query(`SELECT * FROM lethe.incident WHERE ${byId ? "id = $1::uuid" : "reference = $1"}${forUpdate ? " FOR UPDATE" : ""}`, [
    idOrReference,
  ])) as IncidentRow[];
  return rows[0] ?? null;
}

/** Incidents newest first, optionally of some statuses; `before` (a created_at) pages. */
export async function listIncidentRows(q: Sql, opts: { statuses?: IncidentStatus[]; limit: number; before?: Date }): Promise<IncidentRow[]> {
  return (await q.query(
    `SELECT * FROM lethe.incident
      WHERE ($1::text[] IS NULL OR status = ANY($1)) AND ($2::timestamptz IS NULL OR created_at < $2)
      ORDER BY created_at DESC, id DESC LIMIT $3`,
    [opts.statuses ?? null, opts.before ?? null, opts.limit],
  )) as IncidentRow[];
}

/** Every incident, oldest first: the register's export. */
export async function allIncidentRows(q: Sql): Promise<IncidentRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident ORDER BY created_at, id`)) as IncidentRow[];
}

/**
 * Updates one incident with `set` (SQL assignments over parameters from `$3`) where `guard` holds,
 * and appends `event` with `extra` detail (SQL over the updated row) in the same statement. `$1`
 * is the id, `$2` the actor. Returns the updated row, or null when the guard did not hold.
 */
async function updateWithAudit(
  q: Sql,
  id: string,
  actor: string,
  change: { set: string; guard?: string; params?: unknown[]; event: string; extra?: string },
): Promise<IncidentRow | null> {
  const rows = (await q.query(
    `WITH upd AS (
       UPDATE lethe.incident SET ${change.set}, updated_at = now() WHERE id = $1 AND (${change.guard ?? "true"}) RETURNING *),
     audit AS (${incidentAuditSql(change.event, "$2", "upd", change.extra)})
     SELECT * FROM upd`,
    [id, actor, ...(change.params ?? [])],
  )) as IncidentRow[];
  return rows[0] ?? null;
}

/** Moves the incident from `from` to `to` (compare-and-set) with `incident.status`; null when it was not in `from`. */
export function setIncidentStatus(
  q: Sql,
  id: string,
  actor: string,
  move: { from: IncidentStatus; to: IncidentStatus; rationale?: string | null; final: boolean; wipeAfterHours: number },
): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, actor, {
    set: `status = $4, final_at = CASE WHEN $5 THEN now() END, final_rationale = coalesce($6, final_rationale),
          contacts_wipe_after = CASE WHEN $5 THEN now() + make_interval(secs => $7::float8 * 3600) END`,
    guard: "status = $3",
    params: [move.from, move.to, move.final, move.rationale ?? null, move.wipeAfterHours],
    event: "incident.status",
    extra: "jsonb_build_object('from', $3::text, 'to', status)",
  });
}

/** Records the first notification of the authority (idempotent: the first time stays). */
export async function markAuthorityNotified(q: Sql, id: string, at: Date): Promise<void> {
  await q.query(`UPDATE lethe.incident SET authority_notified_at = coalesce(authority_notified_at, $2), updated_at = now() WHERE id = $1`, [id, at]);
}

/** Sets the affected counts from the frozen scopes' union (`subjects`, `records`). */
export async function setAffectedCounts(q: Sql, id: string, counts: { subjects: number; records: number }): Promise<void> {
  await q.query(`UPDATE lethe.incident SET affected_subjects = $2, affected_records = $3, updated_at = now() WHERE id = $1`, [
    id,
    counts.subjects,
    counts.records,
  ]);
}

/** Starts (or restarts with a newer notice version) the fan-out, audited as `incident.fanout_started`. */
export function startFanoutRow(q: Sql, id: string, actor: string, noticeVersion: number, queued: number): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, actor, {
    set: `fanout_state = 'running', fanout_notice_version = $3, fanout_started_at = now(), fanout_done_at = NULL`,
    guard: `fanout_state IN ('none','done','running')`,
    params: [noticeVersion, queued],
    event: "incident.fanout_started",
    extra: "jsonb_build_object('noticeVersion', $3::int, 'queued', $4::int)",
  });
}

/** Pauses a running fan-out (a law-enforcement request to delay, Art. 34, recital 88); audited with the reason. */
export function pauseFanoutRow(q: Sql, id: string, actor: string, reason: string): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, actor, {
    set: `fanout_state = 'paused', pause_reason = $3`,
    guard: `fanout_state = 'running'`,
    params: [reason],
    event: "incident.fanout_paused",
    extra: "jsonb_build_object('reason', $3::text)",
  });
}

/** Resumes a paused fan-out; audited. */
export function resumeFanoutRow(q: Sql, id: string, actor: string): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, actor, {
    set: `fanout_state = 'running', pause_reason = NULL`,
    guard: `fanout_state = 'paused'`,
    event: "incident.fanout_resumed",
  });
}

/** Marks a running fan-out done (every notification final), with the counts and the ledger hash; audited once. */
export function finishFanoutRow(
  q: Sql,
  id: string,
  summary: { sent: number; undeliverable: number; resent: number; ledgerHash: string },
): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, "lethe", {
    set: `fanout_state = 'done', fanout_done_at = now()`,
    guard: `fanout_state = 'running'`,
    params: [summary.sent, summary.undeliverable, summary.resent, summary.ledgerHash],
    event: "incident.fanout_done",
    extra:
      "jsonb_build_object('noticeVersion', fanout_notice_version, 'sent', $3::int, 'undeliverable', $4::int, 'resentInDoubt', $5::int, 'ledgerHash', $6::text)",
  });
}

/** Records that the undeliverable share passed the threshold: a public notice should be considered (Art. 34(3)(c)). */
export function advisePublicNoticeRow(q: Sql, id: string, share: number, threshold: number): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, "lethe", {
    set: `public_notice_advised_at = now()`,
    guard: `public_notice_advised_at IS NULL`,
    params: [share, threshold],
    event: "incident.public_notice_advised",
    extra: "jsonb_build_object('undeliverableShare', $3::float8, 'threshold', $4::float8)",
  });
}

/** Records that a public communication (Art. 34(3)(c)) was made, and where. */
export function recordPublicNoticeRow(q: Sql, id: string, actor: string, given: { at: Date; where: string }): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, actor, {
    set: `public_notice_given_at = $3, public_notice_where = $4`,
    params: [given.at, given.where],
    event: "incident.public_notice_given",
    extra: "jsonb_build_object('at', $3::timestamptz)",
  });
}

/** Incidents whose clock may run: not final and the authority not yet notified. */
export async function clockCandidates(q: Sql): Promise<IncidentRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident WHERE ${INCIDENT_OPEN_SQL} AND authority_notified_at IS NULL ORDER BY aware_at`)) as IncidentRow[];
}

/** Incidents with a running fan-out (oldest first). */
export async function runningFanouts(q: Sql): Promise<IncidentRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident WHERE fanout_state = 'running' ORDER BY fanout_started_at`)) as IncidentRow[];
}

/** Incidents whose contacts are due to be wiped (final, delay passed, not wiped yet). */
export async function contactsDueForWipe(q: Sql): Promise<string[]> {
  const rows = (await q.query(`SELECT id FROM lethe.incident WHERE contacts_wiped_at IS NULL AND contacts_wipe_after <= now()`)) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** Marks the contacts wiped, with the count, audited (`incident.contacts_wiped`). */
export function markContactsWiped(q: Sql, id: string, wiped: number): Promise<IncidentRow | null> {
  return updateWithAudit(q, id, "lethe", {
    set: `contacts_wiped_at = now()`,
    guard: `contacts_wiped_at IS NULL`,
    params: [wiped],
    event: "incident.contacts_wiped",
    extra: "jsonb_build_object('wiped', $3::int)",
  });
}

/** Counts of incidents by status, for metrics. */
export async function incidentCounts(q: Sql): Promise<Array<{ status: string; n: number }>> {
  return (await q.query(`SELECT status, count(*)::int AS n FROM lethe.incident GROUP BY status`)) as Array<{ status: string; n: number }>;
}
