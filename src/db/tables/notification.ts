import type { Sql } from "./sql";

/**
 * Owner of `lethe.notification`: one row per (incident, person, notice version), unique, written
 * before any job is enqueued — the fan-out's source of truth. A send claims its row (`sending`,
 * with a token and a time), sends, then records `sent` with the SMTP answer or `undeliverable`
 * with the code. A claim older than the job lock is taken over (its worker died): that send is
 * flagged `resent`, since the first may have reached the server.
 */

/** Where one person's notice stands. */
export type NotificationStatus = "queued" | "sending" | "sent" | "undeliverable";

/** What a claim returns: enough to send, nothing in clear (the contact is sealed). */
export interface ClaimedNotification {
  id: string;
  incident_id: string;
  reference: string;
  notice_version: number;
  attempts: number;
  resent: boolean;
  contact: Buffer | null;
}

/** Why a claim found nothing to send. */
export type ClaimRefusal =
  | { reason: "final"; status: NotificationStatus }
  | { reason: "busy"; retryInMs: number }
  | { reason: "paused" }
  | { reason: "gone" }
  /** Claimed in the same batch for another send of this process (overlapping chunks): that send owns it. */
  | { reason: "taken" };

/** New rows from which {@link queueNotifications} refreshes the table's statistics. (Default: 1000) */
const ANALYZE_AFTER = 1000;

/**
 * Queues one notification per affected person for `version` (existing ones stay); returns how many
 * were new. After many new rows the table's statistics are refreshed at once: the fan-out's claims
 * start right away, and with the statistics of an empty table the planner reads every pending row
 * of the incident for each claim instead of the few it names (225 ms instead of 2 ms at 100,000).
 */
export async function queueNotifications(q: Sql, incidentId: string, version: number): Promise<number> {
  const n = await insertNotifications(q, incidentId, version);
  if (n >= ANALYZE_AFTER) await q.query(`ANALYZE lethe.notification`);
  return n;
}

async function insertNotifications(q: Sql, incidentId: string, version: number): Promise<number> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.notification (incident_id, subject_hmac, notice_version)
       SELECT incident_id, subject_hmac, $2 FROM lethe.incident_affected WHERE incident_id = $1
       ON CONFLICT (incident_id, subject_hmac, notice_version) DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [incidentId, version],
  )) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

/** One page of pending (queued or sending) notification ids of an incident, in id order after `after`. */
export async function pendingPage(q: Sql, incidentId: string, after: string | null, limit: number): Promise<string[]> {
  const rows = (await q.query(
    `SELECT id FROM lethe.notification WHERE incident_id = $1 AND status IN ('queued','sending') AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [incidentId, after, limit],
  )) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/**
 * Claims notifications for sending in one statement: each `queued`, or `sending` with a claim
 * older than `leaseMs`, while the incident's fan-out runs. Returns the claims with the sealed
 * contacts (any order); an id missing from them was refused ({@link claimRefusals}).
 */
export async function claimNotifications(q: Sql, ids: readonly string[], token: string, leaseMs: number): Promise<ClaimedNotification[]> {
  if (ids.length === 0) return [];
  return (await q.query(
    `WITH c AS (
       UPDATE lethe.notification n
          SET status = 'sending', attempts = n.attempts + 1, claim_token = $2, claimed_at = clock_timestamp(), updated_at = now(),
              resent = n.resent OR n.status = 'sending'
         FROM lethe.incident i
        WHERE n.id = ANY($1::uuid[]) AND i.id = n.incident_id AND i.fanout_state = 'running'
          AND (n.status = 'queued' OR (n.status = 'sending' AND n.claimed_at < clock_timestamp() - make_interval(secs => $3::float8 / 1000)))
        RETURNING n.id, n.incident_id, n.subject_hmac, n.notice_version, n.attempts, n.resent, i.reference)
     SELECT c.id, c.incident_id, c.reference, c.notice_version, c.attempts, c.resent, a.contact
       FROM c JOIN lethe.incident_affected a ON a.incident_id = c.incident_id AND a.subject_hmac = c.subject_hmac`,
    [ids, token, leaseMs],
  )) as ClaimedNotification[];
}

/** Why {@link claimNotifications} did not claim each of `ids`, by id (one statement). */
export async function claimRefusals(q: Sql, ids: readonly string[], leaseMs: number): Promise<Map<string, ClaimRefusal>> {
  const rows = (await q.query(
    `SELECT n.id, n.status, i.fanout_state,
            greatest(0, extract(epoch FROM (n.claimed_at + make_interval(secs => $2::float8 / 1000) - clock_timestamp())) * 1000)::int AS left_ms
       FROM lethe.notification n JOIN lethe.incident i ON i.id = n.incident_id WHERE n.id = ANY($1::uuid[])`,
    [ids, leaseMs],
  )) as Array<{ id: string; status: NotificationStatus; fanout_state: string; left_ms: number | null }>;
  const out = new Map<string, ClaimRefusal>(ids.map((id) => [id, { reason: "gone" }]));
  for (const r of rows) out.set(r.id, refusalOf(r, leaseMs));
  return out;
}

const refusalOf = (r: { status: NotificationStatus; fanout_state: string; left_ms: number | null }, leaseMs: number): ClaimRefusal => {
  if (r.status === "sent" || r.status === "undeliverable") return { reason: "final", status: r.status };
  if (r.fanout_state !== "running") return { reason: "paused" };
  // A row skipped while another claim wrote it, or claimed by a live send: wait for that send's lease.
  return { reason: "busy", retryInMs: Math.max(100, r.left_ms ?? leaseMs) };
};

/** The final outcome of one send, as {@link recordNotificationOutcomes} writes it. */
export interface NotificationOutcomeRow {
  id: string;
  status: "sent" | "undeliverable";
  code: number | null;
  errorCode: string | null;
  response: string | null;
}

/**
 * Records several sends' final outcomes in one statement (`sent` with the server's answer, or
 * `undeliverable` with the code); a row already final stays as it is. Returns the ids written.
 */
export async function recordNotificationOutcomes(q: Sql, outcomes: readonly NotificationOutcomeRow[]): Promise<Set<string>> {
  if (outcomes.length === 0) return new Set();
  const rows = (await q.query(
    `UPDATE lethe.notification n
        SET status = u.status, sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE n.sent_at END,
            smtp_code = u.code, smtp_response = u.response, error_code = u.error_code, updated_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[]) AS u(id, status, code, error_code, response)
      WHERE n.id = u.id AND n.status IN ('queued','sending')
      RETURNING n.id`,
    [outcomes.map((o) => o.id), outcomes.map((o) => o.status), outcomes.map((o) => o.code), outcomes.map((o) => o.errorCode), outcomes.map((o) => o.response)],
  )) as [Array<{ id: string }>, number];
  return new Set(rows[0].map((r) => r.id));
}

/** Gives a claimed notification back (`queued`) after a retryable failure, with the code. */
export async function releaseNotification(q: Sql, id: string, token: string, failure: { code: number | null; errorCode: string }): Promise<void> {
  await q.query(
    `UPDATE lethe.notification SET status = 'queued', claim_token = NULL, smtp_code = $3, error_code = $4, updated_at = now()
      WHERE id = $1 AND claim_token = $2 AND status = 'sending'`,
    [id, token, failure.code, failure.errorCode],
  );
}

/** Counts of one incident's notifications (all versions, or one). */
export interface NotificationCounts {
  total: number;
  queued: number;
  sending: number;
  sent: number;
  undeliverable: number;
  /** Sends taken over after a worker died mid-send: the person may have received the notice twice. */
  resent: number;
}

/** Counts by status for an incident (and notice version). */
export async function notificationCounts(q: Sql, incidentId: string, version?: number): Promise<NotificationCounts> {
  const rows = (await q.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'sending')::int AS sending,
            count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'undeliverable')::int AS undeliverable,
            count(*) FILTER (WHERE resent)::int AS resent
       FROM lethe.notification WHERE incident_id = $1 AND ($2::int IS NULL OR notice_version = $2)`,
    [incidentId, version ?? null],
  )) as NotificationCounts[];
  return rows[0]!;
}

/**
 * Whether the incident still has a pending (queued or sending) notification, cheaply during a
 * fan-out: the partial index is read from the highest id down — notices go out in id order, so a
 * pending row is found at once while the fan-out runs (the answer never depends on the order).
 */
export async function hasPendingNotifications(q: Sql, incidentId: string): Promise<boolean> {
  const rows = (await q.query(
    `SELECT 1 FROM lethe.notification WHERE incident_id = $1 AND status IN ('queued','sending') ORDER BY incident_id DESC, id DESC LIMIT 1`,
    [incidentId],
  )) as unknown[];
  return rows.length > 0;
}

/** How many of the incident's notifications are undeliverable (an index range, not the whole fan-out). */
export async function undeliverableCount(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(`SELECT count(*)::int AS n FROM lethe.notification WHERE incident_id = $1 AND status = 'undeliverable'`, [incidentId])) as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}

/** Pending notifications of every running fan-out (the reconciler compares this with the mail queue). */
export async function pendingOfRunningFanouts(q: Sql, graceMs: number): Promise<Array<{ incident_id: string; pending: number }>> {
  return (await q.query(
    `SELECT n.incident_id, count(*)::int AS pending FROM lethe.notification n JOIN lethe.incident i ON i.id = n.incident_id
      WHERE i.fanout_state = 'running' AND i.fanout_started_at < now() - make_interval(secs => $1::float8 / 1000) AND n.status IN ('queued','sending')
      GROUP BY n.incident_id`,
    [graceMs],
  )) as Array<{ incident_id: string; pending: number }>;
}

/** One page of an incident's notifications (no contact data), in id order after `after`. */
export async function notificationPage(
  q: Sql,
  incidentId: string,
  opts: { status?: NotificationStatus; after?: string; limit: number },
): Promise<
  Array<{
    id: string;
    subject_hmac: string;
    notice_version: number;
    status: NotificationStatus;
    attempts: number;
    resent: boolean;
    smtp_code: number | null;
    smtp_response: string | null;
    error_code: string | null;
    sent_at: Date | null;
    updated_at: Date;
  }>
> {
  return (await q.query(
    `SELECT id, subject_hmac, notice_version, status, attempts, resent, smtp_code, smtp_response, error_code, sent_at, updated_at
       FROM lethe.notification WHERE incident_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4`,
    [incidentId, opts.status ?? null, opts.after ?? null, opts.limit],
  )) as never;
}

/**
 * The fan-out's ledger hash: sha256 over the lines `subject_hmac:version:status`, sorted, joined
 * by newlines — anyone holding the table can recompute it and compare with the audit entry.
 */
export async function notificationLedgerHash(q: Sql, incidentId: string): Promise<string> {
  const rows = (await q.query(
    `SELECT encode(sha256(convert_to(coalesce(string_agg(subject_hmac || ':' || notice_version || ':' || status, E'\n' ORDER BY subject_hmac, notice_version), ''), 'UTF8')), 'hex') AS h
       FROM lethe.notification WHERE incident_id = $1`,
    [incidentId],
  )) as Array<{ h: string }>;
  return rows[0]!.h;
}

/** Notifications by status across incidents, for metrics. */
export async function notificationStatusCounts(q: Sql): Promise<Array<{ status: NotificationStatus; n: number }>> {
  return (await q.query(`SELECT status, count(*)::int AS n FROM lethe.notification GROUP BY status`)) as Array<{ status: NotificationStatus; n: number }>;
}
