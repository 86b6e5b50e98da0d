import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import type { StepCount } from "../../types";
import { resultOf, type RequestResult } from "../../requests/outcome";
import { SubjectRequestEntity, type SubjectRequest } from "../entities/subject-request";
import { appendAuditSql } from "./audit-log";
import { exportFailedSql } from "./export";
import { activeHoldIdSql, ENDED_HOLD_JOIN } from "./legal-hold";
import { deliveriesFailedSql, deliverySentSql } from "./mail-delivery";
import { deleteFailedOpenDsrCallsSql } from "./opendsr-call";
import { deleteFailedCallsSql } from "./processor-call";
import { failedStoresClearedSql, preparedStoresDoneSql, storeFailedSql, storesJsonSql, storesRecordedSql, stepsJson } from "./request-store";
import { endRestrictionsOfErasedSql } from "./restriction";
import { isPooled, queryRows, type Sql } from "./sql";
import { GroupCommit, groupCommitOf } from "../group-commit";

/**
 * Owner of `lethe.subject_request`: a data-subject request, the source of truth for its
 * lifecycle (Redis is only transport). A statement that ends a request also changes its stores,
 * export or mail, and writes the audit entry, in one round trip, through those owners' fragments.
 */

/** Request statuses after which a request changes no more. */
const UNFINISHED = `status NOT IN ('completed', 'failed', 'refused')`;

/** Group commit of the request path's statements: at most 64 a batch; a failed batch retries one by one. */
const REQUEST_BATCHES = { maxBatch: 64, retryOneByOne: true } as const;

/**
 * Runs `item` through `run`: on a DataSource group-committed with the items of the same statement
 * that arrive meanwhile (one {@link GroupCommit} per DataSource in `cache`); in a transaction, alone.
 */
function batched<I, O>(cache: WeakMap<object, GroupCommit<I, O>>, ds: Sql, run: (ds: Sql, items: I[]) => Promise<O[]>, item: I): Promise<O> {
  if (!isPooled(ds)) return run(ds, [item]).then((out) => out[0]!);
  return groupCommitOf(cache, ds, () => new GroupCommit<I, O>((items) => run(ds, items), REQUEST_BATCHES)).submit(item);
}

/** A `lethe.subject_request` row as the driver returns it. */
interface RequestRow {
  id: string;
  type: SubjectRequest["type"];
  status: SubjectRequest["status"];
  dry_run: boolean;
  received_at: Date;
  due_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  subject_hash: string;
  identities: Buffer | null;
  requested_by: string;
  idempotency_key: string | null;
  error_code: string | null;
  error_message: string | null;
  result: SubjectRequest["result"];
  hold_id: string | null;
  map_fingerprint: string | null;
  updated_at: Date;
}

function fromRow(r: RequestRow): SubjectRequest {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    dryRun: r.dry_run,
    receivedAt: r.received_at,
    dueAt: r.due_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    subjectHash: r.subject_hash,
    identities: r.identities,
    requestedBy: r.requested_by,
    idempotencyKey: r.idempotency_key,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    result: r.result,
    holdId: r.hold_id,
    mapFingerprint: r.map_fingerprint,
    updatedAt: r.updated_at,
  };
}

/** What {@link insertRequest} records. */
export type NewRequest = Pick<SubjectRequest, "type" | "dryRun" | "receivedAt" | "dueAt" | "subjectHash" | "identities" | "requestedBy" | "idempotencyKey"> & {
  mapFingerprint?: string | null;
};

const REQUEST_COLUMNS = `id, type, status, dry_run, received_at, due_at, started_at, completed_at, subject_hash, identities, requested_by,
       idempotency_key, error_code, error_message, result, hold_id, map_fingerprint, updated_at`;

/** New requests, `queued`, each with its audit entry, in one statement; a reused idempotency key inserts nothing. */
const INSERT_SQL = `WITH v AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS v(rid uuid, type text, dry boolean, recv timestamptz, due timestamptz, hash text, sealed text, by text, ikey text, fp text, det jsonb)),
     ins AS (
       INSERT INTO lethe.subject_request (id, type, status, dry_run, received_at, due_at, subject_hash, identities, requested_by, idempotency_key, map_fingerprint)
       SELECT v.rid, v.type, 'queued', v.dry, v.recv, v.due, v.hash, decode(v.sealed, 'base64'), v.by, v.ikey, v.fp FROM v
       ON CONFLICT (requested_by, idempotency_key) DO NOTHING RETURNING ${REQUEST_COLUMNS}),
     audit AS (
       ${appendAuditSql({ event: "'request.received'", requestId: "ins.id", subjectHash: "ins.subject_hash", actor: "ins.requested_by", detail: "v.det" }, "ins JOIN v ON v.rid = ins.id")})
     SELECT ${REQUEST_COLUMNS} FROM ins`;

type NewRequestItem = { r: NewRequest; auditDetail: Record<string, unknown> };
const inserts = new WeakMap<object, GroupCommit<NewRequestItem, SubjectRequest | undefined>>();

/** Runs {@link INSERT_SQL} for `items` (ids made here, so each row finds its caller); undefined where the key was used. */
async function insertAll(ds: Sql, items: NewRequestItem[]): Promise<Array<SubjectRequest | undefined>> {
  const ids = items.map(() => randomUUID());
  const rows = items.map(({ r, auditDetail }, i) => ({
    rid: ids[i],
    type: r.type,
    dry: r.dryRun,
    recv: r.receivedAt.toISOString(),
    due: r.dueAt.toISOString(),
    hash: r.subjectHash,
    sealed: r.identities ? r.identities.toString("base64") : null,
    by: r.requestedBy,
    ikey: r.idempotencyKey,
    fp: r.mapFingerprint ?? null,
    det: auditDetail,
  }));
  const inserted = new Map((await queryRows<RequestRow>(ds, INSERT_SQL, [JSON.stringify(rows)])).map((row) => [row.id, fromRow(row)]));
  return ids.map((id) => inserted.get(id));
}

/**
 * A new request, `queued`, with its audit entry, in one statement; undefined when the idempotency
 * key was used already. On a DataSource, requests submitted while another insert is in flight are
 * group-committed with it (`db/group-commit`).
 */
export async function insertRequest(ds: Sql, r: NewRequest, auditDetail: Record<string, unknown>): Promise<SubjectRequest | undefined> {
  return batched(inserts, ds, insertAll, { r, auditDetail });
}

/** The request a caller made with an idempotency key. */
export function requestByIdempotencyKey(ds: Pick<DataSource, "getRepository">, requestedBy: string, idempotencyKey: string): Promise<SubjectRequest> {
  return ds.getRepository(SubjectRequestEntity).findOneByOrFail({ requestedBy, idempotencyKey });
}

/** A request by id, or null. */
export function findRequest(ds: Pick<DataSource, "getRepository">, id: string): Promise<SubjectRequest | null> {
  return ds.getRepository(SubjectRequestEntity).findOneBy({ id });
}

/** A request as the erasure jobs read it: one query, with its per-store progress. */
export interface LoadedRequest {
  id: string;
  type: SubjectRequest["type"];
  status: SubjectRequest["status"];
  dryRun: boolean;
  subjectHash: string;
  identities: Buffer | null;
  result: SubjectRequest["result"];
  stores: Array<{ store: string; status: string; xid: string | null }>;
  /** The data map's fingerprint at submission (null: made before fingerprints). */
  mapFingerprint: string | null;
}

const LOAD_SQL = `SELECT r.id, r.type, r.status, r.dry_run AS "dryRun", r.subject_hash AS "subjectHash", r.identities, r.result, r.map_fingerprint AS "mapFingerprint",
            ${storesJsonSql("r")} AS stores
       FROM lethe.subject_request r WHERE r.id = ANY ($1::uuid[])`;

const loads = new WeakMap<object, GroupCommit<string, LoadedRequest | undefined>>();

/** Loads requests `ids` with their stores, in order; undefined for an id there is none of. */
async function loadAll(ds: Sql, ids: string[]): Promise<Array<LoadedRequest | undefined>> {
  const rows = await queryRows<LoadedRequest>(ds, LOAD_SQL, [ids]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id.toLowerCase()));
}

/**
 * Loads a request with its stores; undefined when there is none. On a DataSource, loads made
 * while another is in flight go together (`db/group-commit`).
 */
export async function loadRequest(ds: Sql, requestId: string): Promise<LoadedRequest | undefined> {
  return batched(loads, ds, loadAll, requestId);
}

/**
 * An erasure starts: `running`, or `held` when a legal hold covers any of the keyed hashes
 * (`holdHashes`; none for a preview), the snapshot sealed the first time (`resealed`, else kept).
 * Returns the hold it waits for, if any, and `started: false` when the request ended meanwhile
 * (cancelled while its job was starting): then nothing changed and nothing may be erased.
 */
export async function startErasureRun(
  ds: Sql,
  requestId: string,
  resealed: Buffer | null,
  holdHashes: string[],
): Promise<{ started: boolean; holdId: string | null }> {
  const rows = (await ds.query(
    `WITH hold AS (
       ${activeHoldIdSql("$3")})
     UPDATE lethe.subject_request
        SET status = CASE WHEN EXISTS (SELECT 1 FROM hold) THEN 'held' ELSE 'running' END,
            hold_id = (SELECT id FROM hold), identities = coalesce($2, identities),
            started_at = coalesce(started_at, now()), updated_at = now()
      WHERE id = $1 AND ${UNFINISHED} RETURNING hold_id`,
    [requestId, resealed, holdHashes],
  )) as [Array<{ hold_id: string | null }>, number];
  const row = rows[0][0];
  return { started: row !== undefined, holdId: row?.hold_id ?? null };
}

/** What {@link startErasurePrepared} records for one request. */
interface PreparedStart {
  requestId: string;
  resealed: Buffer;
  holdHashes: string[];
  store: string;
  steps: StepCount[];
  xid: string;
}

/**
 * For each item, in one statement: the request becomes `running` with its snapshot sealed and the
 * store `prepared` with its xid and steps — or, when a legal hold covers any of its hashes, `held`
 * with the snapshot sealed and no store recorded. Returns the request ids updated and their hold.
 */
const START_PREPARED_SQL = `WITH v AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(rid uuid, sealed text, hashes text[], store text, xid bigint, steps jsonb)),
     hold AS (
       SELECT v.rid, (${activeHoldIdSql("v.hashes")}) AS hold_id FROM v),
     req AS (
       UPDATE lethe.subject_request r
          SET status = CASE WHEN hold.hold_id IS NOT NULL THEN 'held' ELSE 'running' END,
              hold_id = hold.hold_id, identities = decode(v.sealed, 'base64'),
              started_at = coalesce(r.started_at, now()), updated_at = now()
         FROM v JOIN hold ON hold.rid = v.rid
        WHERE r.id = ANY (ARRAY(SELECT rid FROM v)) AND r.id = v.rid AND r.${UNFINISHED} RETURNING r.id, r.hold_id),
     ok AS (SELECT v.rid, v.store, 'prepared'::text AS state, v.xid, v.steps FROM v JOIN req ON req.id = v.rid WHERE req.hold_id IS NULL),
     ${storesRecordedSql("ok")}
     SELECT id::text AS rid, hold_id FROM req`;

const preparedStarts = new WeakMap<object, GroupCommit<PreparedStart, { started: boolean; holdId: string | null }>>();

/** Runs {@link START_PREPARED_SQL} for `items`. */
async function startAllPrepared(ds: Sql, items: PreparedStart[]): Promise<Array<{ started: boolean; holdId: string | null }>> {
  const rows = items.map((p) => ({
    rid: p.requestId,
    sealed: p.resealed.toString("base64"),
    hashes: p.holdHashes,
    store: p.store,
    xid: p.xid,
    steps: stepsJson(p.steps),
  }));
  const out = await queryRows<{ rid: string; hold_id: string | null }>(ds, START_PREPARED_SQL, [JSON.stringify(rows)]);
  const byId = new Map(out.map((r) => [r.rid, r.hold_id]));
  return items.map((p) => {
    const id = p.requestId.toLowerCase();
    return byId.has(id) ? { started: true, holdId: byId.get(id) ?? null } : { started: false, holdId: null };
  });
}

/**
 * The subject's store was erased in a transaction that has not committed yet (its connection
 * waits): the request becomes `running` with its snapshot sealed (`resealed`) and the store
 * `prepared` with its xid and steps — or, when a legal hold covers any of `holdHashes`, `held`
 * with the snapshot sealed and no store recorded (the caller then rolls the store transaction
 * back). Returns the hold it waits for, if any. On a DataSource, group-committed with the other
 * jobs' (`db/group-commit`): one statement and one commit for the erasures that reach this point
 * while one is in flight.
 */
export async function startErasurePrepared(ds: Sql, p: PreparedStart): Promise<{ started: boolean; holdId: string | null }> {
  return batched(preparedStarts, ds, startAllPrepared, p);
}

/** What {@link completeRequest} records for one request. */
export interface Completion {
  requestId: string;
  result: RequestResult;
  event: string;
  subjectHash: string;
  detail: Record<string, unknown>;
  /** An erased subject's keyed hash: their restrictions end in the same statement. */
  endRestrictionsOf?: string | null;
}

/**
 * Completes requests in one statement: for each, the result, stores marked done, identities
 * wiped, restrictions of an erased subject ended, and the audit entry `event` naming the subject
 * by `subjectHash` with `detail`.
 */
const COMPLETE_SQL = `WITH v AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(rid uuid, res jsonb, ev text, hash text, det jsonb, erased text)),
     req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = v.res,
              error_code = NULL, error_message = NULL, started_at = coalesce(started_at, now()), updated_at = now()
         FROM v WHERE id = ANY (ARRAY(SELECT rid FROM v)) AND id = v.rid AND ${UNFINISHED} RETURNING id),
     stores AS (${preparedStoresDoneSql("ANY (ARRAY(SELECT rid FROM v))")}),
     ${endRestrictionsOfErasedSql("v.erased", "v.rid", "v")}
     ${appendAuditSql({ event: "v.ev", requestId: "req.id", subjectHash: "v.hash", actor: "'worker'", detail: "v.det" }, "req JOIN v ON v.rid = req.id")}`;

const completions = new WeakMap<object, GroupCommit<Completion, void>>();

/** Runs {@link COMPLETE_SQL} for `items`. */
async function completeAll(ds: Sql, items: Completion[]): Promise<void[]> {
  const rows = items.map((c) => ({ rid: c.requestId, res: c.result, ev: c.event, hash: c.subjectHash, det: c.detail, erased: c.endRestrictionsOf ?? null }));
  await queryRows(ds, COMPLETE_SQL, [JSON.stringify(rows)]);
  return items.map(() => undefined);
}

/**
 * Completes a request (see {@link COMPLETE_SQL}). On a DataSource, completions made while another
 * is in flight are group-committed with it (`db/group-commit`): one statement for several jobs.
 */
export async function completeRequest(ds: Sql, c: Completion): Promise<void> {
  await batched(completions, ds, completeAll, c);
}

/**
 * Fails a request (and `store`, when one failed) with a code and a personal-data-free message,
 * audited, in one statement. The sealed identities stay unless `wipeIdentities`.
 */
export async function failRequest(
  ds: Sql,
  f: { requestId: string; code: string; message: string; store: string | null; wipeIdentities: boolean },
): Promise<void> {
  await ds.query(
    `WITH st AS (
       ${storeFailedSql({ request: "$1", code: "$2", message: "$3", store: "$4" })}),
     req AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, updated_at = now(),
              identities = CASE WHEN $5 THEN NULL ELSE identities END
        WHERE id = $1 AND ${UNFINISHED} RETURNING id, subject_hash)
     ${appendAuditSql({ event: "'request.failed'", requestId: "id", subjectHash: "subject_hash", actor: "'worker'", detail: "jsonb_build_object('code', $2::text, 'store', $4::text)" }, "req")}`,
    [f.requestId, f.code, f.message, f.store, f.wipeIdentities],
  );
}

/**
 * Two CTEs (`<name>` and `<name>_audit`) that cancel a request still `queued`: failed with code
 * `cancelled`, identities wiped, audited as `request.cancelled` by `actor`. `<name>` returns `id`;
 * no row when the request had already started (then nothing changes). `id` and `actor` are SQL expressions.
 */
export function cancelQueuedRequestCtes(name: string, id: string, actor: string): string {
  return `${name} AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = 'cancelled', error_message = 'cancelled by the controller before it started',
              identities = NULL, updated_at = now()
        WHERE id = ${id} AND status = 'queued' RETURNING id, subject_hash),
     ${name}_audit AS (${appendAuditSql({ event: "'request.cancelled'", requestId: "id", subjectHash: "subject_hash", actor, detail: "'{}'::jsonb" }, name)})`;
}

/** A request's status and whether its sealed identities are still there (for a retry). */
export async function retryState(ds: Sql, requestId: string): Promise<{ status: string; has_identities: boolean } | undefined> {
  const rows = (await ds.query(`SELECT status, identities IS NOT NULL AS has_identities FROM lethe.subject_request WHERE id = $1`, [requestId])) as Array<{
    status: string;
    has_identities: boolean;
  }>;
  return rows[0];
}

/**
 * A failed request is `queued` again, in one statement: its failed stores and failed processor
 * calls start over (done ones stay done), audited as retried by `by`.
 */
export async function requeueFailedRequest(ds: Sql, requestId: string, by: string): Promise<void> {
  await ds.query(
    `WITH st AS (${failedStoresClearedSql("$1")}),
     -- A processor call that ended failed (rejected, deadline) would fail the store again without calling: start it over (same idempotency key).
     calls AS (${deleteFailedCallsSql("$1")}),
     opendsr_calls AS (${deleteFailedOpenDsrCallsSql("$1")}),
     req AS (UPDATE lethe.subject_request SET status = 'queued', error_code = NULL, error_message = NULL, updated_at = now()
              WHERE id = $1 AND status = 'failed' RETURNING id, subject_hash)
     ${appendAuditSql({ event: "'request.retried'", requestId: "id", subjectHash: "subject_hash", actor: "$2", detail: "'{}'::jsonb" }, "req")}`,
    [requestId, by],
  );
}

/** Unfinished erasures not touched for `graceMs` (the API enqueues right after its insert), oldest first. */
export async function unfinishedErasures(ds: Sql, graceMs: number): Promise<Array<{ id: string; status: string }>> {
  return (await ds.query(
    `SELECT id, status FROM lethe.subject_request WHERE status IN ('queued', 'running') AND type = 'erasure' AND updated_at < now() - ($1 || ' milliseconds')::interval ORDER BY received_at LIMIT 10000`,
    [String(graceMs)],
  )) as Array<{ id: string; status: string }>;
}

/** A failed request keeps its sealed identities for a retry, but not for ever: wipes those older than `ttlHours`. */
export async function wipeStaleIdentities(ds: Sql, ttlHours: number): Promise<void> {
  await ds.query(
    `UPDATE lethe.subject_request SET identities = NULL WHERE status = 'failed' AND identities IS NOT NULL AND updated_at < now() - ($1 || ' hours')::interval`,
    [String(ttlHours)],
  );
}

/** Moves the requests waiting for `holdId` back to `queued`; returns their ids. */
export async function resumeHeldRequests(m: Sql, holdId: string): Promise<string[]> {
  const rows = (await m.query(
    `UPDATE lethe.subject_request SET status = 'queued', hold_id = NULL, updated_at = now() WHERE hold_id = $1 AND status = 'held' RETURNING id`,
    [holdId],
  )) as [Array<{ id: string }>, number];
  return rows[0].map((r) => r.id);
}

/** Held requests whose hold has ended (released or expired): back to `queued`; returns their ids. */
export async function resumeEndedHolds(ds: Sql): Promise<string[]> {
  const rows = (await ds.query(
    `UPDATE lethe.subject_request r SET status = 'queued', hold_id = NULL, updated_at = now()
       FROM ${ENDED_HOLD_JOIN.from}
      WHERE ${ENDED_HOLD_JOIN.where} AND r.status = 'held'
      RETURNING r.id`,
  )) as [Array<{ id: string }>, number];
  return rows[0].map((r) => r.id);
}

/** An export request as its build reads it. */
export interface ExportRequestRow {
  id: string;
  type: string;
  status: string;
  subject_hash: string;
  identities: Buffer | null;
  map_fingerprint: string | null;
}

/** A request as an export's build reads it. */
export async function exportRequest(ds: Sql, requestId: string): Promise<ExportRequestRow | undefined> {
  const rows = (await ds.query(`SELECT id, type, status, subject_hash, identities, map_fingerprint FROM lethe.subject_request WHERE id = $1`, [
    requestId,
  ])) as ExportRequestRow[];
  return rows[0];
}

/** An unfinished request becomes (or stays) `running`; `resealed`, when given, is its sealed snapshot (kept when null). */
export async function markRunning(ds: Sql, requestId: string, resealed?: Buffer | null): Promise<void> {
  const running = `UPDATE lethe.subject_request SET status = 'running', started_at = coalesce(started_at, now()), updated_at = now()`;
  if (resealed === undefined) await ds.query(`${running} WHERE id = $1 AND status IN ('queued', 'running')`, [requestId]);
  else await ds.query(`${running}, identities = coalesce($2, identities) WHERE id = $1 AND status IN ('queued', 'running')`, [requestId, resealed]);
}

/**
 * An export request whose subject was not found completes (nothing to export or mail) with the
 * outcome `subject_not_found`, audited `export.subject_not_found`, in one statement.
 */
export async function completeWithoutSubject(ds: Sql, c: { requestId: string; subjectHash: string; detail: Record<string, unknown> }): Promise<void> {
  await ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = $2, updated_at = now()
        WHERE id = $1 AND ${UNFINISHED} RETURNING id)
     ${appendAuditSql({ event: "'export.subject_not_found'", requestId: "id", subjectHash: "$3", actor: "'worker'", detail: "$4" }, "req")}`,
    [c.requestId, JSON.stringify(resultOf({ type: "export", dryRun: false, steps: [], subjectFound: false })), c.subjectHash, JSON.stringify(c.detail)],
  );
}

/**
 * The export's mail is out: in one statement the delivery is `sent`, the request completes (its
 * identities wiped) and the audit entry is written.
 */
export async function completeAfterMail(
  q: Sql,
  c: { deliveryKey: string; messageId: string; requestId: string; subjectHash: string; detail: Record<string, unknown> },
): Promise<void> {
  await q.query(
    `WITH d AS (
       ${deliverySentSql("$1", "$2")}),
     req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = $4,
              error_code = NULL, error_message = NULL, updated_at = now()
        WHERE id = $3 AND ${UNFINISHED} RETURNING id)
     ${appendAuditSql({ event: "'export.completed'", requestId: "id", subjectHash: "$5", actor: "'worker'", detail: "$6" }, "req")}`,
    [
      c.deliveryKey,
      c.messageId,
      c.requestId,
      JSON.stringify(resultOf({ type: "export", dryRun: false, steps: [], subjectFound: true })),
      c.subjectHash,
      JSON.stringify(c.detail),
    ],
  );
}

/**
 * Fails an export request visibly, in one statement: the request `failed` with a code and a
 * message, its identities wiped, the export and its delivery failed, an audit entry. Returns the
 * failed export's id and file (to delete).
 */
export async function markExportRequestFailed(ds: Sql, requestId: string, code: string, message: string): Promise<Array<{ id: string; path: string }>> {
  return (await ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, identities = NULL, updated_at = now()
        WHERE id = $1 AND ${UNFINISHED} RETURNING id, subject_hash),
     ex AS (
       ${exportFailedSql("$1", "EXISTS (SELECT 1 FROM req)")}),
     mail AS (
       ${deliveriesFailedSql("$1", "EXISTS (SELECT 1 FROM req)")}),
     audit AS (
       ${appendAuditSql({ event: "'request.failed'", requestId: "id", subjectHash: "subject_hash", actor: "'worker'", detail: "jsonb_build_object('code', $2::text, 'type', 'export')" }, "req")})
     SELECT id, path FROM ex`,
    [requestId, code, message],
  )) as Array<{ id: string; path: string }>;
}

/**
 * An export request whose mail could not be delivered within the retry window fails visibly, in
 * one statement, but keeps what a retry needs: its sealed identities (wiped after
 * LETHE_FAILED_IDENTITIES_TTL_HOURS), the `ready` export and its file (deleted when the link
 * expires); the delivery is failed; an audit entry. Returns whether the request was failed now.
 */
export async function markExportMailFailed(ds: Sql, requestId: string, code: string, message: string): Promise<boolean> {
  const rows = (await ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
        WHERE id = $1 AND ${UNFINISHED} RETURNING id, subject_hash),
     mail AS (
       ${deliveriesFailedSql("$1", "EXISTS (SELECT 1 FROM req)")}),
     audit AS (
       ${appendAuditSql({ event: "'request.failed'", requestId: "id", subjectHash: "subject_hash", actor: "'worker'", detail: "jsonb_build_object('code', $2::text, 'type', 'export', 'retryable', true)" }, "req")})
     SELECT id FROM req`,
    [requestId, code, message],
  )) as Array<{ id: string }>;
  return rows.length > 0;
}

/**
 * A failed export request whose export is still `ready` (its link not expired) and whose
 * identities are kept is `running` again, its delivery `pending`, in one statement with its audit
 * entry; returns the export id to mail, or null when it cannot be retried that way.
 */
export async function requeueExportMail(ds: Sql, requestId: string, by: string): Promise<string | null> {
  const rows = (await ds.query(
    `WITH ex AS (
       SELECT e.id FROM lethe.export e JOIN lethe.subject_request r ON r.id = e.request_id
        WHERE e.request_id = $1 AND e.status = 'ready' AND e.expires_at > now() AND e.deleted_at IS NULL
          AND r.status = 'failed' AND r.identities IS NOT NULL),
     req AS (
       UPDATE lethe.subject_request SET status = 'running', error_code = NULL, error_message = NULL, updated_at = now()
        WHERE id = $1 AND EXISTS (SELECT 1 FROM ex) RETURNING id, subject_hash),
     mail AS (
       UPDATE lethe.mail_delivery SET status = 'pending', updated_at = now() WHERE request_id = $1 AND status = 'failed' AND EXISTS (SELECT 1 FROM req)),
     audit AS (
       ${appendAuditSql({ event: "'request.retried'", requestId: "id", subjectHash: "subject_hash", actor: "$2", detail: "jsonb_build_object('type', 'export', 'step', 'mail')" }, "req")})
     SELECT ex.id FROM ex WHERE EXISTS (SELECT 1 FROM req)`,
    [requestId, by],
  )) as Array<{ id: string }>;
  return rows[0]?.id ?? null;
}

/** A request as the application callback reads it: type, status, preview, completion, result (outcome), error code. */
export interface CallbackRow {
  type: string;
  status: string;
  dry_run: boolean;
  completed_at: Date | null;
  result: RequestResult | null;
  error_code: string | null;
}

/** What the application callback reports of a request (see {@link CallbackRow}). */
export async function requestOutcome(ds: Sql, requestId: string): Promise<CallbackRow | undefined> {
  const rows = (await ds.query(`SELECT type, status, dry_run, completed_at, result, error_code FROM lethe.subject_request WHERE id = $1`, [
    requestId,
  ])) as CallbackRow[];
  return rows[0];
}

/** A request as its receipt reads it. */
export interface ReceiptRow {
  id: string;
  type: string;
  status: string;
  dry_run: boolean;
  received_at: Date;
  due_at: Date;
  completed_at: Date | null;
  result: RequestResult | null;
}

/** A request as its receipt reads it. */
export async function receiptRow(ds: Sql, requestId: string): Promise<ReceiptRow | undefined> {
  const rows = (await ds.query(`SELECT id, type, status, dry_run, received_at, due_at, completed_at, result FROM lethe.subject_request WHERE id = $1`, [
    requestId,
  ])) as ReceiptRow[];
  return rows[0];
}

/** Requests by type, status and preview (metrics: real requests and previews are counted apart). */
export async function requestCounts(ds: Sql): Promise<Array<{ type: string; status: string; dry_run: boolean; n: number }>> {
  return (await ds.query(`SELECT type, status, dry_run, count(*)::int AS n FROM lethe.subject_request GROUP BY type, status, dry_run`)) as Array<{
    type: string;
    status: string;
    dry_run: boolean;
    n: number;
  }>;
}

/**
 * Completed requests by type, outcome and preview (metrics). Rows from before issue 9 carry no
 * outcome: it is derived as {@link outcomeOf} does (preview, subject found or not).
 */
export async function completedCounts(ds: Sql): Promise<Array<{ type: string; outcome: string; dry_run: boolean; n: number }>> {
  return (await ds.query(
    `SELECT type, dry_run,
            coalesce(result->>'outcome', CASE WHEN dry_run THEN 'previewed' WHEN (result->>'subjectFound')::boolean IS FALSE THEN 'subject_not_found' ELSE 'done' END) AS outcome,
            count(*)::int AS n
       FROM lethe.subject_request WHERE status = 'completed' GROUP BY 1, 2, 3`,
  )) as Array<{ type: string; outcome: string; dry_run: boolean; n: number }>;
}

// ── The other rights (issue 13): rectification, restriction, objection, consent withdrawal;
//    the Art. 12(3) extension and the Art. 12(4) refusal of any request. ──

/** A request as a rights decision reads it, locked (`FOR UPDATE`) inside the caller's transaction. */
export interface LockedRequest {
  id: string;
  type: SubjectRequest["type"];
  status: SubjectRequest["status"];
  receivedAt: Date;
  dueAt: Date;
  subjectHash: string;
  identities: Buffer | null;
}

/** Locks a request row for a decision (extension, refusal, approval); undefined when there is none. */
export async function lockRequest(q: Sql, requestId: string): Promise<LockedRequest | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) return undefined;
  const rows = (await q.query(
    `SELECT id, type, status, received_at AS "receivedAt", due_at AS "dueAt", subject_hash AS "subjectHash", identities
       FROM lethe.subject_request WHERE id = $1 FOR UPDATE`,
    [requestId],
  )) as LockedRequest[];
  return rows[0];
}

/** Moves a request from one of `from` to `to`, audited as `event` when given; false when it was in another status. */
export async function moveRequest(
  q: Sql,
  requestId: string,
  m: { from: readonly SubjectRequest["status"][]; to: SubjectRequest["status"]; event?: string; actor?: string; detail?: Record<string, unknown> },
): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.subject_request SET status = $3, started_at = CASE WHEN $3 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
              error_code = CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE error_code END,
              error_message = CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE error_message END, updated_at = now()
        WHERE id = $1 AND status = ANY($2::text[]) RETURNING id, subject_hash),
     audit AS (
       ${appendAuditSql({ event: "$4", requestId: "id", subjectHash: "subject_hash", actor: "$5", detail: "$6" }, "u WHERE $4::text IS NOT NULL")})
     SELECT count(*)::int AS n FROM u`,
    [requestId, m.from, m.to, m.event ?? null, m.actor ?? "worker", JSON.stringify(m.detail ?? {})],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** The new due date of an extended request. */
export async function setDueDate(q: Sql, requestId: string, dueAt: Date): Promise<void> {
  await q.query(`UPDATE lethe.subject_request SET due_at = $2, updated_at = now() WHERE id = $1`, [requestId, dueAt]);
}

/**
 * Refuses a request (Art. 12(4)) in one statement: `refused`, its identities wiped (the notice
 * keeps its own sealed copy), audited by `by`. False when it had started changing stores or ended.
 */
export async function refuseRequestRow(q: Sql, requestId: string, by: string, noticeId: string): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.subject_request SET status = 'refused', completed_at = now(), identities = NULL, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'held', 'awaiting_decision') RETURNING id, subject_hash, type),
     audit AS (
       ${appendAuditSql({ event: "'request.refused'", requestId: "id", subjectHash: "subject_hash", actor: "$2", detail: "jsonb_build_object('type', type, 'noticeId', $3::uuid)" }, "u")})
     SELECT count(*)::int AS n FROM u`,
    [requestId, by, noticeId],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/**
 * Completes a running rights request when everything it does is done — its stores
 * (`storesDone`), and none of its processor events pending or failed (the caller's SQL
 * conditions on `r.id`) — in one statement with its audit entry; its identities wiped.
 */
export async function completeWhenSettled(q: Sql, requestId: string, c: { conditions: string[]; result: Record<string, unknown> }): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.subject_request r SET status = 'completed', completed_at = now(), identities = NULL, result = $2,
              error_code = NULL, error_message = NULL, updated_at = now()
        WHERE r.id = $1 AND r.status = 'running' AND ${c.conditions.join(" AND ")} RETURNING r.id, r.subject_hash, r.type),
     audit AS (
       ${appendAuditSql({ event: "type || '.completed'", requestId: "id", subjectHash: "subject_hash", actor: "'worker'", detail: "$2" }, "u")})
     SELECT count(*)::int AS n FROM u`,
    [requestId, JSON.stringify(c.result)],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** Unfinished rights requests of `types` not touched for `graceMs`, oldest first (the reconciler). */
export async function staleRightsRequests(q: Sql, types: readonly string[], graceMs: number): Promise<Array<{ id: string; type: string; status: string }>> {
  return (await q.query(
    `SELECT id, type, status FROM lethe.subject_request
      WHERE type = ANY($1::text[]) AND status IN ('queued', 'running') AND updated_at < now() - ($2 || ' milliseconds')::interval
      ORDER BY received_at LIMIT 10000`,
    [types, String(graceMs)],
  )) as Array<{ id: string; type: string; status: string }>;
}

/** The request a caller made with an idempotency key, or null (a replay is answered without checking anything again). */
export async function findRequestByIdempotencyKey(
  ds: Pick<DataSource, "getRepository">,
  requestedBy: string,
  idempotencyKey: string,
): Promise<SubjectRequest | null> {
  return ds.getRepository(SubjectRequestEntity).findOneBy({ requestedBy, idempotencyKey });
}

/** A request that failed only because a recipient failed runs again once that recipient was settled by hand (then it may complete). */
export async function resumeAfterRecipient(q: Sql, requestId: string, code: string): Promise<void> {
  await q.query(
    `UPDATE lethe.subject_request SET status = 'running', error_code = NULL, error_message = NULL, updated_at = now() WHERE id = $1 AND status = 'failed' AND error_code = $2`,
    [requestId, code],
  );
}
