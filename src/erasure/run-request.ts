import type { DataSource } from "typeorm";
import { appendAudit } from "../audit/log";
import type { Config } from "../config";
import { subjectHash } from "../crypto";
import type { DataMap } from "../datamap/schema";
import type { SubjectRequest } from "../db/entities/subject-request";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import type { StorePools } from "../pg/store-pools";
import { openIdentities, sealIdentities, type SealedIdentities } from "../requests/identities";
import type { StepCount } from "../types";
import { eraseStore, LeftoversError, previewStore, resolveSubject, transactionStatus, verifyStore, type SubjectSnapshot } from "./postgres-erasure";
import { isPermanentSqlState, publicError } from "./public-error";
import { buildStorePlan, type StorePlan } from "./store-plan";

/** What the erasure job needs; built once per worker process. */
export interface ErasureRuntime {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  stores: StorePools;
  logger: Logger;
}

/** What the job returns (ids and counts only). */
export interface ErasureOutcome {
  status: "completed" | "skipped";
  subjectFound: boolean;
  rows: number;
}

const plans = new WeakMap<StorePools, Map<string, Promise<StorePlan>>>();

/** The store's plan, built once per process from the data map and the live schema. */
export function storePlan(rt: ErasureRuntime, store: string): Promise<StorePlan> {
  let byStore = plans.get(rt.stores);
  if (!byStore) plans.set(rt.stores, (byStore = new Map()));
  let p = byStore.get(store);
  if (!p) {
    p = rt.stores.schema(store).then((schema) => buildStorePlan(rt.dataMap, store, schema));
    p.catch(() => byStore.delete(store));
    byStore.set(store, p);
  }
  return p;
}

function rethrow(err: unknown, store: string): never {
  if (err instanceof PermanentError) throw err;
  if (isPermanentSqlState(err)) {
    const e = publicError(err, store);
    throw new PermanentError(e.code, e.message, { cause: err });
  }
  throw err;
}

interface LoadedRequest {
  id: string;
  status: SubjectRequest["status"];
  dry_run: boolean;
  subject_hash: string;
  identities: Buffer | null;
  result: SubjectRequest["result"];
  stores: Array<{ store: string; status: string; xid: string | null }>;
}

/**
 * Runs one erasure request to its end, resumably: snapshot the subject (once), erase and verify
 * each store not yet done (one transaction each, crash-safe through `txid_status`), then record
 * the receipt and the audit entry and wipe the identities. A preview only counts.
 */
export async function runErasureRequest(rt: ErasureRuntime, requestId: string, log: Logger): Promise<ErasureOutcome> {
  const rows = (await rt.ds.query(
    `SELECT r.id, r.status, r.dry_run, r.subject_hash, r.identities, r.result,
            coalesce((SELECT json_agg(json_build_object('store', s.store, 'status', s.status, 'xid', s.xid::text))
                        FROM lethe.request_store s WHERE s.request_id = r.id), '[]') AS stores
       FROM lethe.subject_request r WHERE r.id = $1`,
    [requestId],
  )) as LoadedRequest[];
  const request = rows[0];
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  if (request.status === "completed" || request.status === "failed") return { status: "skipped", subjectFound: request.result?.subjectFound ?? false, rows: 0 };
  if (!request.identities) throw new PermanentError(ERROR_CODES.badPayload, "request has no identities to work with");

  const store = rt.dataMap.subject.store;
  const plan = await storePlan(rt, store);
  const pool = rt.stores.pool(store);
  const sealed = openIdentities(rt.config.encryptionKey, request.identities);
  const snapshot = await snapshotOnce(rt, request.id, sealed, plan);
  if (!snapshot) {
    log.info({ requestId }, "subject not found; nothing to erase");
    await finish(rt, request, sealed, [], false);
    return { status: "completed", subjectFound: false, rows: 0 };
  }

  let steps: StepCount[];
  try {
    steps = request.dry_run
      ? await previewStore(pool, plan, rt.dataMap, snapshot)
      : await eraseOnce(rt, request, plan, snapshot, log);
  } catch (err) {
    rethrow(err, store);
  }
  await finish(rt, request, { ...sealed, identities: snapshot.identities }, steps, true);
  const changed = steps.filter((s) => s.action !== "shared" && s.action !== "keep").reduce((n, s) => n + s.rows, 0);
  log.info({ requestId, steps: steps.length, rows: changed, dryRun: request.dry_run }, request.dry_run ? "preview done" : "erasure done");
  return { status: "completed", subjectFound: true, rows: changed };
}

/**
 * Marks the request running and, the first time, resolves and seals the snapshot in the same
 * statement; later attempts reuse the snapshot (the subject row may be gone by then).
 */
async function snapshotOnce(rt: ErasureRuntime, requestId: string, sealed: SealedIdentities, plan: StorePlan): Promise<SubjectSnapshot | null> {
  const running = `UPDATE lethe.subject_request SET status = 'running', started_at = coalesce(started_at, now()), updated_at = now()`;
  if (sealed.identities && sealed.seed) {
    await rt.ds.query(`${running} WHERE id = $1`, [requestId]);
    return { identities: sealed.identities, seed: sealed.seed };
  }
  let snapshot: SubjectSnapshot | null;
  try {
    snapshot = await resolveSubject(rt.stores.pool(plan.store), plan, rt.dataMap, sealed.ref);
  } catch (err) {
    rethrow(err, plan.store);
  }
  const resealed = snapshot ? sealIdentities(rt.config.encryptionKey, { ref: sealed.ref, identities: snapshot.identities, seed: snapshot.seed }) : null;
  await rt.ds.query(`${running}, identities = coalesce($2, identities) WHERE id = $1`, [requestId, resealed]);
  return snapshot;
}

/** Erases one store unless a previous attempt already did; returns the recorded counts. */
async function eraseOnce(rt: ErasureRuntime, request: LoadedRequest, plan: StorePlan, snapshot: SubjectSnapshot, log: Logger): Promise<StepCount[]> {
  const pool = rt.stores.pool(plan.store);
  const prior = request.stores.find((s) => s.store === plan.store);
  if (prior?.status === "done") return recordedSteps(rt.ds, request.id, plan.store);
  if (prior?.status === "prepared" && prior.xid) {
    const status = await transactionStatus(pool, prior.xid);
    if (status === "in progress") throw new Error(`store "${plan.store}": the previous attempt's transaction is still open`);
    if (status === "committed") {
      log.info({ requestId: request.id, store: plan.store }, "previous attempt committed; verifying it");
      const leftovers = await verifyStore(pool, plan, rt.dataMap, snapshot);
      if (leftovers.length > 0) throw new LeftoversError(leftovers);
      return recordedSteps(rt.ds, request.id, plan.store);
    }
  }
  return eraseStore(pool, plan, rt.dataMap, snapshot, (xid, counted) =>
    rt.ds
      .query(
        `WITH cleared AS (DELETE FROM lethe.request_step WHERE request_id = $1 AND store = $2),
              steps AS (
                INSERT INTO lethe.request_step (request_id, store, table_name, action, rows, ground)
                SELECT $1, $2, t, a, n, g FROM unnest($4::text[], $5::text[], $6::int[], $7::text[]) AS v(t, a, n, g))
         INSERT INTO lethe.request_store (request_id, store, status, xid) VALUES ($1, $2, 'prepared', $3)
         ON CONFLICT (request_id, store) DO UPDATE SET status = 'prepared', xid = EXCLUDED.xid, error_code = NULL, error_message = NULL`,
        [
          request.id,
          plan.store,
          xid,
          counted.map((s) => s.table),
          counted.map((s) => s.action),
          counted.map((s) => s.rows),
          counted.map((s) => s.ground ?? null),
        ],
      )
      .then(() => undefined),
  );
}

async function recordedSteps(ds: DataSource, requestId: string, store: string): Promise<StepCount[]> {
  const rows = (await ds.query(`SELECT store, table_name, action, rows, ground FROM lethe.request_step WHERE request_id = $1 AND store = $2 ORDER BY id`, [requestId, store])) as Array<{
    store: string;
    table_name: string;
    action: StepCount["action"];
    rows: number;
    ground: string | null;
  }>;
  return rows.map((r) => ({ store: r.store, table: r.table_name, action: r.action, rows: r.rows, ...(r.ground ? { ground: r.ground } : {}) }));
}

/**
 * Ends the request in one statement: result, stores marked done, identities wiped, and the audit
 * entry (keyed hashes only) — all or nothing.
 */
async function finish(rt: ErasureRuntime, request: LoadedRequest, sealed: SealedIdentities, steps: StepCount[], subjectFound: boolean): Promise<void> {
  const hashes: Record<string, string> = {};
  for (const [name, value] of Object.entries(sealed.identities ?? { [sealed.ref.name]: sealed.ref.value })) hashes[name] = subjectHash(rt.config.hmacKey, name, value);
  const detail = { subjectFound, identityHashes: hashes, steps: steps.map((s) => ({ store: s.store, table: s.table, action: s.action, rows: s.rows })) };
  await rt.ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = $2,
              error_code = NULL, error_message = NULL, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING id),
     stores AS (UPDATE lethe.request_store SET status = 'done', finished_at = now() WHERE request_id = $1 AND status = 'prepared')
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
     SELECT $3, id, $4, 'worker', $5 FROM req`,
    [request.id, JSON.stringify({ steps, subjectFound }), request.dry_run ? "erasure.previewed" : "erasure.completed", hashes.id ?? request.subject_hash, JSON.stringify(detail)],
  );
}

/** Marks a request failed (attempts exhausted or unrecoverable), with a personal-data-free reason. */
export async function markRequestFailed(ds: DataSource, requestId: string, err: unknown): Promise<void> {
  const e = publicError(err);
  await ds.transaction(async (m) => {
    const rows = (await m.query(
      `UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING subject_hash`,
      [requestId, e.code, e.message],
    )) as [Array<{ subject_hash: string }>, number] | Array<{ subject_hash: string }>;
    const list = Array.isArray(rows[0]) ? (rows[0] as Array<{ subject_hash: string }>) : (rows as Array<{ subject_hash: string }>);
    if (list.length === 0) return;
    await appendAudit(m, { event: "request.failed", requestId, subjectHash: list[0]!.subject_hash, actor: "worker", detail: { code: e.code } });
  });
}
