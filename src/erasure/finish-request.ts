import type { DataSource } from "typeorm";
import { completeRequest, failRequest, type LoadedRequest } from "../db/tables/subject-request";
import type { StepCount } from "../types";
import { publicError } from "./public-error";
import { identityHashes } from "../subject/hashes";
import type { SubjectIdentities } from "../subject/identity-match";
import { completionEvent, resultOf, type RequestResult } from "../requests/outcome";

/**
 * Ends a request in one statement: result, stores marked done, identities wiped, and the audit
 * entry naming the subject by keyed hashes only (the erasure ledger `lethe replay` reads), each
 * hashed by its identity's match rule from `subject` (the data map's). The outcome is explicit
 * (`requests/outcome`): a subject not found is audited `erasure.subject_not_found`, never
 * `erasure.completed`; `verified` only when the caller re-checked every store.
 */
export async function finishRequest(
  ds: DataSource,
  hmacKey: Buffer,
  request: Pick<LoadedRequest, "id" | "dryRun" | "subjectHash" | "type">,
  identities: Record<string, string> | null,
  steps: StepCount[],
  subjectFound: boolean,
  subject?: SubjectIdentities,
  verified = false,
): Promise<RequestResult> {
  const hashes = identities ? identityHashes(hmacKey, identities, subject) : {};
  const result = resultOf({ type: request.type, dryRun: request.dryRun, steps, subjectFound, verified });
  const event = completionEvent(request.type, result.outcome!);
  const detail = {
    subjectFound,
    outcome: result.outcome,
    verified: result.verified,
    identityHashes: hashes,
    steps: steps.map((s) => ({ store: s.store, table: s.table, action: s.action, rows: s.rows })),
  };
  // An erased subject's restrictions end with it, in the same statement (their clear key must not outlive the erasure).
  const erased = request.type === "erasure" && !request.dryRun && subjectFound && hashes.id ? hashes.id : null;
  await completeRequest(ds, { requestId: request.id, result, event, subjectHash: hashes.id ?? request.subjectHash, detail, endRestrictionsOf: erased });
  return result;
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
  await failRequest(ds, { requestId, code: e.code, message, store: store ?? null, wipeIdentities: options.wipeIdentities ?? false });
}
