import type { OpenDsrRequestType, OpenDsrStatus } from "../../opendsr/protocol";
import { cancelQueuedRequestCtes } from "./subject-request";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.opendsr_request`: requests other controllers sent to Lethe as an OpenDSR
 * processor, by `subject_request_id`, each tied to the Lethe request it became. The OpenDSR
 * status is derived from the Lethe request in SQL ({@link STATUS_SQL}), so it cannot drift.
 */

/**
 * The OpenDSR status of a row `o` joined with its request `r`: cancelled, completed (also a
 * subject an sha256 identity matched nobody), pending while queued, otherwise in progress (a
 * failed request stays `in_progress`: OpenDSR has no failed status, and an operator may retry it).
 */
const STATUS_SQL = `CASE WHEN o.cancelled_at IS NOT NULL THEN 'cancelled'
       WHEN NOT o.subject_found THEN 'completed'
       WHEN r.status = 'completed' THEN 'completed'
       WHEN r.status = 'queued' THEN 'pending'
       ELSE 'in_progress' END`;

/** An OpenDSR request with its derived status and what its results link needs. */
export interface OpenDsrRequestRow {
  subjectRequestId: string;
  controllerId: string;
  requestId: string | null;
  type: OpenDsrRequestType;
  bodySha256: string;
  submittedAt: Date;
  receivedAt: Date;
  expectedAt: Date;
  callbackUrls: string[];
  status: OpenDsrStatus;
  reportedStatus: string | null;
  /** The export of an access or portability request, once ready. */
  export: { id: string; expiresAt: Date; rows: number } | null;
}

interface Row {
  subject_request_id: string;
  controller_id: string;
  request_id: string | null;
  type: OpenDsrRequestType;
  body_sha256: string;
  submitted_at: Date;
  received_at: Date;
  expected_at: Date;
  callback_urls: string[];
  status: OpenDsrStatus;
  reported_status: string | null;
  export_id: string | null;
  export_expires_at: Date | null;
  export_rows: string | null;
}

const SELECT = `SELECT o.subject_request_id, o.controller_id, o.request_id, o.type, o.body_sha256, o.submitted_at, o.received_at, o.expected_at,
         o.callback_urls, o.reported_status, ${STATUS_SQL} AS status,
         e.id AS export_id, e.expires_at AS export_expires_at, e.rows::text AS export_rows
    FROM lethe.opendsr_request o
    LEFT JOIN lethe.subject_request r ON r.id = o.request_id
    LEFT JOIN lethe.export e ON e.request_id = o.request_id AND e.status = 'ready' AND e.deleted_at IS NULL`;

function fromRow(r: Row): OpenDsrRequestRow {
  return {
    subjectRequestId: r.subject_request_id,
    controllerId: r.controller_id,
    requestId: r.request_id,
    type: r.type,
    bodySha256: r.body_sha256,
    submittedAt: r.submitted_at,
    receivedAt: r.received_at,
    expectedAt: r.expected_at,
    callbackUrls: r.callback_urls,
    status: r.status,
    reportedStatus: r.reported_status,
    export: r.export_id && r.export_expires_at ? { id: r.export_id, expiresAt: r.export_expires_at, rows: Number(r.export_rows ?? 0) } : null,
  };
}

/** A new OpenDSR request; false when its `subject_request_id` is taken (a replay, or another controller's id). */
export async function insertOpenDsrRequest(
  q: Sql,
  r: {
    subjectRequestId: string;
    controllerId: string;
    requestId: string | null;
    type: OpenDsrRequestType;
    bodySha256: string;
    submittedAt: Date;
    expectedAt: Date;
    callbackUrls: string[];
    subjectFound: boolean;
  },
): Promise<boolean> {
  const rows = (await q.query(
    `INSERT INTO lethe.opendsr_request (subject_request_id, controller_id, request_id, type, body_sha256, submitted_at, expected_at, callback_urls, subject_found)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (subject_request_id) DO NOTHING RETURNING subject_request_id`,
    [r.subjectRequestId, r.controllerId, r.requestId, r.type, r.bodySha256, r.submittedAt, r.expectedAt, JSON.stringify(r.callbackUrls), r.subjectFound],
  )) as unknown[];
  return rows.length === 1;
}

/** An OpenDSR request by id, with its derived status, or undefined. */
export async function getOpenDsrRequest(q: Sql, subjectRequestId: string): Promise<OpenDsrRequestRow | undefined> {
  const rows = (await q.query(`${SELECT} WHERE o.subject_request_id = $1`, [subjectRequestId])) as Row[];
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Cancels a pending request of `controllerId` in one statement: the Lethe request fails with code
 * `cancelled` (only while still queued) and the row is marked. True when it was cancelled now or
 * before; false when it had already started.
 */
export async function cancelOpenDsrRequest(q: Sql, subjectRequestId: string, controllerId: string): Promise<boolean> {
  const rows = (await q.query(
    `WITH o AS (SELECT request_id, cancelled_at FROM lethe.opendsr_request WHERE subject_request_id = $1 AND controller_id = $2 FOR UPDATE),
     ${cancelQueuedRequestCtes("cancelled", "(SELECT request_id FROM o WHERE cancelled_at IS NULL)", "$2")},
     marked AS (
       UPDATE lethe.opendsr_request SET cancelled_at = now(), updated_at = now()
        WHERE subject_request_id = $1 AND cancelled_at IS NULL AND request_id IN (SELECT id FROM cancelled) RETURNING 1)
     SELECT (SELECT cancelled_at IS NOT NULL FROM o) OR EXISTS (SELECT 1 FROM marked) AS ok`,
    [subjectRequestId, controllerId],
  )) as Array<{ ok: boolean | null }>;
  return rows[0]?.ok === true;
}

/** Requests whose status changed since their callbacks were last enqueued (and that have callback URLs), oldest first. */
export async function unreportedOpenDsrRequests(q: Sql, limit: number): Promise<OpenDsrRequestRow[]> {
  const rows = (await q.query(
    `SELECT * FROM (${SELECT} WHERE o.reported_status IS DISTINCT FROM 'final') s
      WHERE s.reported_status IS DISTINCT FROM s.status ORDER BY s.received_at LIMIT $1`,
    [limit],
  )) as Row[];
  return rows.map(fromRow);
}

/** Records that the callbacks of `status` were enqueued (`final` after completed or cancelled: the row is not looked at again). */
export async function markReported(q: Sql, subjectRequestId: string, status: OpenDsrStatus): Promise<void> {
  const reported = status === "completed" || status === "cancelled" ? "final" : status;
  await q.query(`UPDATE lethe.opendsr_request SET reported_status = $2, updated_at = now() WHERE subject_request_id = $1`, [subjectRequestId, reported]);
}
