import type { DataSource } from "typeorm";
import { queryRows } from "./sql";

/**
 * Owner of `lethe.processor_call`: one row per request and webhook store (the webhook store kind's
 * calls). Every status change is one conditional UPDATE, so a callback, a status poll and a
 * deadline cannot both win.
 */

/** Where a call stands: `sent` (POSTed, no final answer yet), `accepted` (202), `done`, `failed`. */
export type ProcessorCallStatus = "sent" | "accepted" | "done" | "failed";

/** One call as stored (the callback token only as its hash, the status URL sealed). */
export interface ProcessorCall {
  requestId: string;
  store: string;
  idempotencyKey: string;
  status: ProcessorCallStatus;
  callbackTokenHash: string;
  /** The 202's status URL, AES-256-GCM sealed (it may embed the processor's id of the subject); wiped at the end. */
  statusUrl: Buffer | null;
  firstAttemptAt: Date;
  deadlineAt: Date;
  /** Milliseconds left until the deadline by the database clock (0 once passed). */
  msLeft: number;
  attempts: number;
  lastHttpStatus: number | null;
  errorCode: string | null;
  /** The processor's short reason code for `failed`, when it gave a well-formed one. */
  failureReason: string | null;
}

/** Identifies a call: the request and the store. */
export interface CallKey {
  requestId: string;
  store: string;
}

interface Row {
  request_id: string;
  store: string;
  idempotency_key: string;
  status: ProcessorCallStatus;
  callback_token_hash: string;
  status_url: Buffer | null;
  first_attempt_at: Date;
  deadline_at: Date;
  ms_left: string;
  attempts: number;
  last_http_status: number | null;
  error_code: string | null;
  failure_reason: string | null;
}

const COLUMNS = `request_id, store, idempotency_key, status, callback_token_hash, status_url, first_attempt_at, deadline_at,
  greatest(0, floor(extract(epoch FROM deadline_at - now()) * 1000))::bigint::text AS ms_left,
  attempts, last_http_status, error_code, failure_reason`;

function toCall(r: Row): ProcessorCall {
  return {
    requestId: r.request_id,
    store: r.store,
    idempotencyKey: r.idempotency_key,
    status: r.status,
    callbackTokenHash: r.callback_token_hash,
    statusUrl: r.status_url,
    firstAttemptAt: r.first_attempt_at,
    deadlineAt: r.deadline_at,
    msLeft: Number(r.ms_left),
    attempts: r.attempts,
    lastHttpStatus: r.last_http_status,
    errorCode: r.error_code,
    failureReason: r.failure_reason,
  };
}

async function one(ds: DataSource, sql: string, params: unknown[]): Promise<ProcessorCall | null> {
  // Named and planned once per connection (`queryRows`): a processor call runs these for every erasure.
  const rows = await queryRows<Row>(ds, sql, params);
  return rows[0] ? toCall(rows[0]) : null;
}

/** The call of `key`, or null when none was made. */
export function getCall(ds: DataSource, key: CallKey): Promise<ProcessorCall | null> {
  return one(ds, `SELECT ${COLUMNS} FROM lethe.processor_call WHERE request_id = $1 AND store = $2`, [key.requestId, key.store]);
}

/** The call a callback token belongs to, by the token's hash. */
export function getCallByTokenHash(ds: DataSource, tokenHash: string): Promise<ProcessorCall | null> {
  return one(ds, `SELECT ${COLUMNS} FROM lethe.processor_call WHERE callback_token_hash = $1`, [tokenHash]);
}

/**
 * The call of `key`, created (status `sent`) on the first attempt: the deadline runs from now and
 * is kept as stored, even if the data map's deadline changes later.
 */
export async function openCall(ds: DataSource, key: CallKey, init: { idempotencyKey: string; tokenHash: string; deadlineMs: number }): Promise<ProcessorCall> {
  // One round trip: the row inserted now, or (the statement's snapshot not seeing its own insert)
  // the one a previous attempt inserted.
  const call = await one(
    ds,
    `WITH ins AS (
       INSERT INTO lethe.processor_call (request_id, store, idempotency_key, status, callback_token_hash, deadline_at)
       VALUES ($1, $2, $3, 'sent', $4, now() + $5::bigint * interval '1 millisecond')
       ON CONFLICT (request_id, store) DO NOTHING RETURNING *)
     SELECT ${COLUMNS} FROM ins
     UNION ALL
     SELECT ${COLUMNS} FROM lethe.processor_call WHERE request_id = $1 AND store = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
    [key.requestId, key.store, init.idempotencyKey, init.tokenHash, init.deadlineMs],
  );
  if (!call) throw new Error(`processor call of store "${key.store}" vanished after it was created`);
  return call;
}

/** Counts an attempt and its HTTP status (null: no answer). */
export async function recordAttempt(ds: DataSource, key: CallKey, httpStatus: number | null): Promise<void> {
  await ds.query(
    `UPDATE lethe.processor_call SET attempts = attempts + 1, last_http_status = coalesce($3, last_http_status), updated_at = now()
      WHERE request_id = $1 AND store = $2`,
    [key.requestId, key.store, httpStatus],
  );
}

/** `sent` → `accepted` (a 202), keeping the sealed status URL when there is one. False when the call had moved on. */
export async function markAccepted(ds: DataSource, key: CallKey, sealedStatusUrl: Buffer | null): Promise<boolean> {
  const rows = (await ds.query(
    `WITH u AS (
       UPDATE lethe.processor_call SET status = 'accepted', status_url = $3, updated_at = now()
        WHERE request_id = $1 AND store = $2 AND status = 'sent' RETURNING 1)
     SELECT count(*)::int AS n FROM u`,
    [key.requestId, key.store, sealedStatusUrl],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** How an open call ends. */
export type CallEnd = { status: "done" } | { status: "failed"; errorCode: string; failureReason?: string | null };

/**
 * Ends an open (`sent` or `accepted`) call; wipes the status URL. With `onlyIfExpired`, only when
 * the deadline has passed. With `attempt`, also counts the attempt that just ended it and its HTTP
 * status (in the same statement, instead of {@link recordAttempt} first). Returns the call as
 * ended, or null when it was not open (or not expired): then nothing changed, the attempt not
 * counted either.
 */
export function endCall(
  ds: DataSource,
  key: CallKey,
  end: CallEnd,
  options: { onlyIfExpired?: boolean; attempt?: { httpStatus: number } } = {},
): Promise<ProcessorCall | null> {
  const failed = end.status === "failed" ? end : null;
  return one(
    ds,
    `WITH u AS (
       UPDATE lethe.processor_call SET status = $3, error_code = $4, failure_reason = $5, status_url = NULL, updated_at = now(),
              attempts = attempts + CASE WHEN $7::int IS NULL THEN 0 ELSE 1 END, last_http_status = coalesce($7::int, last_http_status)
        WHERE request_id = $1 AND store = $2 AND status IN ('sent', 'accepted') AND (NOT $6 OR now() >= deadline_at)
        RETURNING *)
     SELECT ${COLUMNS} FROM u`,
    [
      key.requestId,
      key.store,
      end.status,
      failed?.errorCode ?? null,
      failed?.failureReason ?? null,
      options.onlyIfExpired ?? false,
      options.attempt?.httpStatus ?? null,
    ],
  );
}

/**
 * Ends the open call a callback token belongs to (single use: a second callback finds it no longer
 * open). Returns the call as ended, or null.
 */
export function endCallByToken(ds: DataSource, tokenHash: string, end: CallEnd): Promise<ProcessorCall | null> {
  const failed = end.status === "failed" ? end : null;
  return one(
    ds,
    `WITH u AS (
       UPDATE lethe.processor_call SET status = $2, error_code = $3, failure_reason = $4, status_url = NULL, updated_at = now()
        WHERE callback_token_hash = $1 AND status IN ('sent', 'accepted')
        RETURNING *)
     SELECT ${COLUMNS} FROM u`,
    [tokenHash, end.status, failed?.errorCode ?? null, failed?.failureReason ?? null],
  );
}

/**
 * A CTE body that deletes the request's failed calls (`$<requestParam>` is the request id): a
 * retried request calls the processor again (same idempotency key) instead of failing at once.
 */
export function deleteFailedCallsSql(requestParam: string): string {
  return `DELETE FROM lethe.processor_call WHERE request_id = ${requestParam} AND status = 'failed'`;
}
