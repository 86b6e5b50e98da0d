import type { DataSource } from "typeorm";
import { identityHashes } from "../holds/holds";
import type { StepCount } from "../types";
import type { LoadedRequest } from "./request-record";
import { publicError } from "./public-error";

/**
 * Ends a request in one statement: result, stores marked done, identities wiped, and the audit
 * entry naming the subject by keyed hashes only (the erasure ledger `lethe replay` reads).
 */
export async function finishRequest(
  ds: DataSource,
  hmacKey: Buffer,
  request: Pick<LoadedRequest, "id" | "dryRun" | "subjectHash" | "type">,
  identities: Record<string, string> | null,
  steps: StepCount[],
  subjectFound: boolean,
): Promise<void> {
  const hashes = identities ? identityHashes(hmacKey, identities) : {};
  const event = request.type === "erasure" ? (request.dryRun ? "erasure.previewed" : "erasure.completed") : `${request.type}.completed`;
  const detail = { subjectFound, identityHashes: hashes, steps: steps.map((s) => ({ store: s.store, table: s.table, action: s.action, rows: s.rows })) };
  await ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = $2,
              error_code = NULL, error_message = NULL, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING id),
     stores AS (UPDATE lethe.request_store SET status = 'done', finished_at = coalesce(finished_at, now()) WHERE request_id = $1 AND status = 'prepared')
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
     SELECT $3, id, $4, 'worker', $5 FROM req`,
    [request.id, JSON.stringify({ steps, subjectFound }), event, hashes.id ?? request.subjectHash, JSON.stringify(detail)],
  );
}

/**
 * Marks a request failed (attempts exhausted or unrecoverable) with a personal-data-free reason;
 * `store` names the store that failed. The sealed identities stay so `POST …/retry` can resume,
 * unless `wipeIdentities` (a failure no retry can fix, e.g. an id that is not a valid key).
 */
export async function markRequestFailed(
  ds: DataSource,
  requestId: string,
  err: unknown,
  store?: string,
  options: { wipeIdentities?: boolean } = {},
): Promise<void> {
  const e = publicError(err, store);
  const message = store && !e.message.includes(`"${store}"`) ? `store "${store}": ${e.message}` : e.message;
  await ds.query(
    `WITH st AS (
       UPDATE lethe.request_store SET status = 'failed', error_code = $2, error_message = $3 WHERE request_id = $1 AND store = $4 AND status <> 'done'),
     req AS (
       UPDATE lethe.subject_request SET status = 'failed', error_code = $2, error_message = $3, updated_at = now(),
              identities = CASE WHEN $5 THEN NULL ELSE identities END
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING id, subject_hash)
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
     SELECT 'request.failed', id, subject_hash, 'worker', jsonb_build_object('code', $2::text, 'store', $4::text) FROM req`,
    [requestId, e.code, message, store ?? null, options.wipeIdentities ?? false],
  );
}
