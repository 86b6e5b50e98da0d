import type { Sql } from "./sql";

/**
 * Owner of `lethe.opendsr_call`: requests Lethe sent as an OpenDSR controller to an `opendsr`
 * store, one per request and store. The `subject_request_id` is fixed on the first attempt (every
 * retry re-sends it: the processor's idempotency key); the deadline runs from the first attempt;
 * `answer` is the processor's last signed status body with its signature (no identity: OpenDSR
 * status bodies carry none, and `encoded_request` is never stored).
 */

/** Where a call stands: `new` (not yet accepted), accepted (`pending`, `in_progress`), or ended. */
export type OpenDsrCallStatus = "new" | "pending" | "in_progress" | "completed" | "cancelled" | "failed";

/** The states a call can still change from. */
const OPEN = `status IN ('new','pending','in_progress')`;

/** Which call: one per request and store. */
export interface OpenDsrCallKey {
  requestId: string;
  store: string;
}

/** A call as its adapter and the callback route read it. */
export interface OpenDsrCall {
  requestId: string;
  store: string;
  subjectRequestId: string;
  status: OpenDsrCallStatus;
  expectedAt: Date | null;
  controllerId: string | null;
  answer: Record<string, unknown> | null;
  answerSignature: string | null;
  attempts: number;
  lastHttpStatus: number | null;
  errorCode: string | null;
  /** When the first attempt was made: the request's `submitted_time`, the same on every retry. */
  firstAttemptAt: Date;
  /** Milliseconds until the deadline (negative once past). */
  msLeft: number;
}

interface Row {
  request_id: string;
  store: string;
  subject_request_id: string;
  status: OpenDsrCallStatus;
  expected_at: Date | null;
  controller_id: string | null;
  answer: Record<string, unknown> | null;
  answer_signature: string | null;
  attempts: number;
  last_http_status: number | null;
  error_code: string | null;
  first_attempt_at: Date;
  ms_left: string;
}

const COLUMNS = `request_id, store, subject_request_id, status, expected_at, controller_id, answer, answer_signature, attempts, last_http_status, error_code, first_attempt_at,
  (extract(epoch FROM deadline_at - now()) * 1000)::bigint::text AS ms_left`;

function fromRow(r: Row): OpenDsrCall {
  return {
    requestId: r.request_id,
    store: r.store,
    subjectRequestId: r.subject_request_id,
    status: r.status,
    expectedAt: r.expected_at,
    controllerId: r.controller_id,
    answer: r.answer,
    answerSignature: r.answer_signature,
    attempts: r.attempts,
    lastHttpStatus: r.last_http_status,
    errorCode: r.error_code,
    firstAttemptAt: r.first_attempt_at,
    msLeft: Number(r.ms_left),
  };
}

const first = (rows: unknown): OpenDsrCall | undefined => {
  const r = (rows as Row[])[0];
  return r ? fromRow(r) : undefined;
};

/** The call of a request and store, created on the first attempt with its `subject_request_id` and deadline. */
export async function openOpenDsrCall(q: Sql, key: OpenDsrCallKey, c: { subjectRequestId: string; deadlineMs: number }): Promise<OpenDsrCall> {
  const rows = await q.query(
    `INSERT INTO lethe.opendsr_call (request_id, store, subject_request_id, status, deadline_at)
     VALUES ($1, $2, $3, 'new', now() + make_interval(secs => $4::double precision / 1000))
     ON CONFLICT (request_id, store) DO UPDATE SET updated_at = lethe.opendsr_call.updated_at RETURNING ${COLUMNS}`,
    [key.requestId, key.store, c.subjectRequestId, c.deadlineMs],
  );
  return first(rows)!;
}

/** The call of a request and store, or undefined. */
export async function getOpenDsrCall(q: Sql, key: OpenDsrCallKey): Promise<OpenDsrCall | undefined> {
  return first(await q.query(`SELECT ${COLUMNS} FROM lethe.opendsr_call WHERE request_id = $1 AND store = $2`, [key.requestId, key.store]));
}

/** The call a processor's callback names by `subject_request_id`, or undefined. */
export async function openDsrCallBySubjectRequestId(q: Sql, subjectRequestId: string): Promise<OpenDsrCall | undefined> {
  return first(await q.query(`SELECT ${COLUMNS} FROM lethe.opendsr_call WHERE subject_request_id = $1`, [subjectRequestId]));
}

/** Counts one attempt and the HTTP status it got (null: no answer). */
export async function recordOpenDsrAttempt(q: Sql, key: OpenDsrCallKey, httpStatus: number | null): Promise<void> {
  await q.query(`UPDATE lethe.opendsr_call SET attempts = attempts + 1, last_http_status = $3, updated_at = now() WHERE request_id = $1 AND store = $2`, [
    key.requestId,
    key.store,
    httpStatus,
  ]);
}

/** What a processor's signed answer says of an open call. */
export interface OpenDsrAnswer {
  status: OpenDsrCallStatus;
  expectedAt?: Date;
  controllerId?: string;
  /** The signed body (without `encoded_request`) and its signature, for the receipt. */
  answer?: Record<string, unknown>;
  signature?: string;
  errorCode?: string;
}

/**
 * Applies an answer to a call still open (a later answer of an ended call changes nothing).
 * Returns the call as it is afterwards, or undefined when there is none.
 */
export async function applyOpenDsrAnswer(q: Sql, key: OpenDsrCallKey, a: OpenDsrAnswer): Promise<OpenDsrCall | undefined> {
  await q.query(
    `UPDATE lethe.opendsr_call SET status = $3, expected_at = COALESCE($4, expected_at), controller_id = COALESCE($5, controller_id),
            answer = COALESCE($6, answer), answer_signature = COALESCE($7, answer_signature), error_code = $8, updated_at = now()
      WHERE request_id = $1 AND store = $2 AND ${OPEN}`,
    [
      key.requestId,
      key.store,
      a.status,
      a.expectedAt ?? null,
      a.controllerId ?? null,
      a.answer ? JSON.stringify(a.answer) : null,
      a.signature ?? null,
      a.errorCode ?? null,
    ],
  );
  return getOpenDsrCall(q, key);
}

/** Fails an open call whose deadline has passed; returns it when it did. */
export async function expireOpenDsrCall(q: Sql, key: OpenDsrCallKey, errorCode: string): Promise<OpenDsrCall | undefined> {
  return first(
    await q.query(
      `WITH u AS (
         UPDATE lethe.opendsr_call SET status = 'failed', error_code = $3, updated_at = now()
          WHERE request_id = $1 AND store = $2 AND ${OPEN} AND deadline_at <= now() RETURNING *)
       SELECT ${COLUMNS} FROM u`,
      [key.requestId, key.store, errorCode],
    ),
  );
}

/** SQL fragment (a CTE body) deleting a request's failed calls, for a retry (`requeueFailedRequest`). */
export function deleteFailedOpenDsrCallsSql(requestParam: string): string {
  return `DELETE FROM lethe.opendsr_call WHERE request_id = ${requestParam} AND status = 'failed'`;
}

/** The signed answers of a request's completed calls, by store (what its receipt records). */
export async function signedAnswersOf(q: Sql, requestId: string): Promise<Map<string, { body: string; signature: string }>> {
  const rows = (await q.query(
    `SELECT store, answer->>'raw' AS body, answer_signature FROM lethe.opendsr_call
      WHERE request_id = $1 AND status = 'completed' AND answer ? 'raw' AND answer_signature IS NOT NULL`,
    [requestId],
  )) as Array<{ store: string; body: string; answer_signature: string }>;
  return new Map(rows.map((r) => [r.store, { body: r.body, signature: r.answer_signature }]));
}
