import type { RecipientAction } from "../../stores/rights-side";
import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.recipient_event` (Art. 19): exactly one event per request, recipient and action,
 * under a unique idempotency key. A processor's event (`webhook`) carries what it may see, sealed
 * (AES-256-GCM) while it is pending or failed and wiped when it ends; a recipient without a
 * webhook gets a manual task (`open`) that a person marks `done`, or `impossible` with the reason
 * (impossible or disproportionate effort). Every status change is one conditional UPDATE.
 */

/** How a recipient is told. */
export type RecipientChannel = "webhook" | "manual";
/**
 * Where an event stands: `pending` (to send), `executed` / `accepted` / `skipped` / `unsupported`
 * (the processor's answer), `failed` (refused or past its deadline; a retry may resend it),
 * `open` (a manual task), `done` (a person told them), `impossible` (with the reason).
 */
export type RecipientEventStatus = "pending" | "executed" | "accepted" | "skipped" | "unsupported" | "failed" | "open" | "done" | "impossible";

/** Identifies an event. */
export interface EventKey {
  requestId: string;
  recipient: string;
  action: RecipientAction;
}

/** A new event. */
export interface NewRecipientEvent extends EventKey {
  channel: RecipientChannel;
  idempotencyKey: string;
  /** `pending` for a processor, `open` for a manual task, `skipped` when it holds nothing concerned. */
  status: "pending" | "open" | "skipped";
  /** Sealed message for a processor (null for a manual task or a skipped event). */
  payload: Buffer | null;
  reason: string | null;
  /** How long a processor has to take it, in milliseconds (null: no deadline). */
  deadlineMs: number | null;
}

/** An event as the API and the sender see it (the sealed payload only as `hasPayload`). */
export interface RecipientEventView extends EventKey {
  channel: RecipientChannel;
  idempotencyKey: string;
  status: RecipientEventStatus;
  attempts: number;
  lastHttpStatus: number | null;
  errorCode: string | null;
  reason: string | null;
  decidedBy: string | null;
  createdAt: string;
  endedAt: string | null;
}

interface Row {
  request_id: string;
  recipient: string;
  action: RecipientAction;
  channel: RecipientChannel;
  idempotency_key: string;
  status: RecipientEventStatus;
  attempts: number;
  last_http_status: number | null;
  error_code: string | null;
  reason: string | null;
  decided_by: string | null;
  created_at: Date;
  ended_at: Date | null;
}

const COLUMNS = `request_id, recipient, action, channel, idempotency_key, status, attempts, last_http_status, error_code, reason, decided_by, created_at, ended_at`;

function toView(r: Row): RecipientEventView {
  return {
    requestId: r.request_id,
    recipient: r.recipient,
    action: r.action,
    channel: r.channel,
    idempotencyKey: r.idempotency_key,
    status: r.status,
    attempts: r.attempts,
    lastHttpStatus: r.last_http_status,
    errorCode: r.error_code,
    reason: r.reason,
    decidedBy: r.decided_by,
    createdAt: r.created_at.toISOString(),
    endedAt: r.ended_at?.toISOString() ?? null,
  };
}

/** Creates events (an existing one is kept as it is: one event per request, recipient and action); returns those created. */
export async function insertRecipientEvents(q: Sql, events: readonly NewRecipientEvent[]): Promise<EventKey[]> {
  if (events.length === 0) return [];
  const rows = (await q.query(
    `INSERT INTO lethe.recipient_event (request_id, recipient, action, channel, idempotency_key, status, payload, reason, deadline_at, ended_at)
     SELECT v.r, v.rec, v.a, v.ch, v.k, v.s, v.p, v.reason, CASE WHEN v.ms IS NULL THEN NULL ELSE now() + v.ms * interval '1 millisecond' END,
            CASE WHEN v.s = 'skipped' THEN now() END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[], $9::bigint[])
            AS v(r, rec, a, ch, k, s, p, reason, ms)
     ON CONFLICT DO NOTHING
     RETURNING request_id, recipient, action`,
    [
      events.map((e) => e.requestId),
      events.map((e) => e.recipient),
      events.map((e) => e.action),
      events.map((e) => e.channel),
      events.map((e) => e.idempotencyKey),
      events.map((e) => e.status),
      events.map((e) => e.payload),
      events.map((e) => e.reason),
      events.map((e) => e.deadlineMs),
    ],
  )) as Array<{ request_id: string; recipient: string; action: RecipientAction }>;
  return rows.map((r) => ({ requestId: r.request_id, recipient: r.recipient, action: r.action }));
}

/** One event with its sealed payload and milliseconds to its deadline (null: none), or null. */
export async function getRecipientEvent(q: Sql, key: EventKey): Promise<(RecipientEventView & { payload: Buffer | null; msLeft: number | null }) | null> {
  const rows = (await q.query(
    `SELECT ${COLUMNS}, payload, CASE WHEN deadline_at IS NULL THEN NULL ELSE greatest(0, floor(extract(epoch FROM deadline_at - now()) * 1000))::bigint::text END AS ms_left
       FROM lethe.recipient_event WHERE request_id = $1 AND recipient = $2 AND action = $3`,
    [key.requestId, key.recipient, key.action],
  )) as Array<Row & { payload: Buffer | null; ms_left: string | null }>;
  const r = rows[0];
  return r ? { ...toView(r), payload: r.payload, msLeft: r.ms_left === null ? null : Number(r.ms_left) } : null;
}

/** A request's events, by recipient and action. */
export async function eventsOfRequest(q: Sql, requestId: string): Promise<RecipientEventView[]> {
  const rows = (await q.query(`SELECT ${COLUMNS} FROM lethe.recipient_event WHERE request_id = $1 ORDER BY created_at, recipient, action`, [
    requestId,
  ])) as Row[];
  return rows.map(toView);
}

/** Counts a send attempt and its HTTP status (null: no answer). */
export async function recordEventAttempt(q: Sql, key: EventKey, httpStatus: number | null): Promise<void> {
  await q.query(
    `UPDATE lethe.recipient_event SET attempts = attempts + 1, last_http_status = coalesce($4, last_http_status), updated_at = now()
      WHERE request_id = $1 AND recipient = $2 AND action = $3`,
    [key.requestId, key.recipient, key.action, httpStatus],
  );
}

/** How a pending event ends. */
export type EventEnd =
  | { status: "executed" | "accepted" | "unsupported"; httpStatus: number }
  | { status: "skipped"; reason: string; httpStatus: number | null }
  | { status: "failed"; errorCode: string; httpStatus: number | null };

/**
 * Ends a pending event with its audit entry (recipient, action, status; never a value). The payload
 * is wiped unless it failed (a retry resends it). With `onlyIfExpired`, only past the deadline.
 * Returns the ended event, or null when it was not pending (or not expired).
 */
export async function endRecipientEvent(q: Sql, key: EventKey, end: EventEnd, options: { onlyIfExpired?: boolean } = {}): Promise<RecipientEventView | null> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.recipient_event
          SET status = $4, last_http_status = coalesce($5, last_http_status), error_code = $6, reason = $7,
              payload = CASE WHEN $4 = 'failed' THEN payload END, ended_at = CASE WHEN $4 = 'failed' THEN NULL ELSE now() END, updated_at = now()
        WHERE request_id = $1 AND recipient = $2 AND action = $3 AND status = 'pending' AND (NOT $8 OR (deadline_at IS NOT NULL AND now() >= deadline_at))
        RETURNING *),
     audit AS (
       ${appendAuditSql({ event: "'recipient.' || status", requestId: "request_id", actor: "'worker'", detail: "jsonb_build_object('recipient', recipient, 'action', action, 'httpStatus', last_http_status, 'code', error_code)" }, "u")})
     SELECT ${COLUMNS} FROM u`,
    [
      key.requestId,
      key.recipient,
      key.action,
      end.status,
      end.httpStatus,
      end.status === "failed" ? end.errorCode : null,
      end.status === "skipped" ? end.reason : null,
      options.onlyIfExpired ?? false,
    ],
  )) as Row[];
  return rows[0] ? toView(rows[0]) : null;
}

/**
 * A person records how a recipient was dealt with: `done` (told) or `impossible` (with the reason),
 * for a manual task, or a processor event that failed or did not know the action. Audited; false
 * when the event does not exist or is in another state.
 */
export async function settleRecipientEvent(q: Sql, key: EventKey, s: { status: "done" | "impossible"; reason: string | null; by: string }): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.recipient_event SET status = $4, reason = coalesce($5, reason), decided_by = $6, payload = NULL, ended_at = now(), updated_at = now()
        WHERE request_id = $1 AND recipient = $2 AND action = $3 AND status IN ('open', 'failed', 'unsupported') RETURNING *),
     audit AS (
       ${appendAuditSql({ event: "'recipient.' || status", requestId: "request_id", actor: "$6", detail: "jsonb_build_object('recipient', recipient, 'action', action)" }, "u")})
     SELECT count(*)::int AS n FROM u`,
    [key.requestId, key.recipient, key.action, s.status, s.reason, s.by],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** A retried request sends its failed processor events again (same key), with a fresh deadline as long as the first. */
export async function resetFailedEvents(q: Sql, requestId: string): Promise<EventKey[]> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.recipient_event SET status = 'pending', error_code = NULL,
              deadline_at = CASE WHEN deadline_at IS NULL THEN NULL ELSE now() + (deadline_at - created_at) END, updated_at = now()
        WHERE request_id = $1 AND channel = 'webhook' AND status = 'failed' AND payload IS NOT NULL RETURNING request_id, recipient, action)
     SELECT * FROM u`,
    [requestId],
  )) as Array<{ request_id: string; recipient: string; action: RecipientAction }>;
  return rows.map((r) => ({ requestId: r.request_id, recipient: r.recipient, action: r.action }));
}

/** A condition on request id expression `idExpr`: none of its processor events is still pending. */
export function noPendingEventsSql(idExpr: string): string {
  return `NOT EXISTS (SELECT 1 FROM lethe.recipient_event e WHERE e.request_id = ${idExpr} AND e.status = 'pending')`;
}

/** A condition on request id expression `idExpr`: none of its processor events failed. */
export function noFailedEventsSql(idExpr: string): string {
  return `NOT EXISTS (SELECT 1 FROM lethe.recipient_event e WHERE e.request_id = ${idExpr} AND e.status = 'failed')`;
}

/** The request's first failed event, for the request's error. */
export async function firstFailedEvent(q: Sql, requestId: string): Promise<{ recipient: string; action: string; errorCode: string | null } | undefined> {
  const rows = (await q.query(
    `SELECT recipient, action, error_code FROM lethe.recipient_event WHERE request_id = $1 AND status = 'failed' ORDER BY updated_at LIMIT 1`,
    [requestId],
  )) as Array<{ recipient: string; action: string; error_code: string | null }>;
  const r = rows[0];
  return r ? { recipient: r.recipient, action: r.action, errorCode: r.error_code } : undefined;
}

/** Pending processor events not touched for `graceMs` (their job may be lost), oldest first. */
export async function stalePendingEvents(q: Sql, graceMs: number): Promise<EventKey[]> {
  const rows = (await q.query(
    `SELECT request_id, recipient, action FROM lethe.recipient_event
      WHERE status = 'pending' AND updated_at < now() - ($1 || ' milliseconds')::interval ORDER BY updated_at LIMIT 10000`,
    [String(graceMs)],
  )) as Array<{ request_id: string; recipient: string; action: RecipientAction }>;
  return rows.map((r) => ({ requestId: r.request_id, recipient: r.recipient, action: r.action }));
}

/** Failed events keep their sealed payload for a retry, but not for ever: wipes those older than `ttlHours`. */
export async function wipeStaleEventPayloads(q: Sql, ttlHours: number): Promise<void> {
  await q.query(
    `UPDATE lethe.recipient_event SET payload = NULL WHERE status = 'failed' AND payload IS NOT NULL AND updated_at < now() - ($1 || ' hours')::interval`,
    [String(ttlHours)],
  );
}
