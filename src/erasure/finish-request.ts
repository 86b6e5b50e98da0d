import type { DataSource } from "typeorm";
import { completeRequest, failRequest, type LoadedRequest } from "../db/tables/subject-request";
import type { StepCount } from "../types";
import { publicError } from "./public-error";
import { identityHashes } from "../subject/hashes";
import type { SubjectIdentities } from "../subject/identity-match";

/**
 * Ends a request in one statement: result, stores marked done, identities wiped, and the audit
 * entry naming the subject by keyed hashes only (the erasure ledger `lethe replay` reads), each
 * hashed by its identity's match rule from `subject` (the data map's).
 */
export async function finishRequest(
  ds: DataSource,
  hmacKey: Buffer,
  request: Pick<LoadedRequest, "id" | "dryRun" | "subjectHash" | "type">,
  identities: Record<string, string> | null,
  steps: StepCount[],
  subjectFound: boolean,
  subject?: SubjectIdentities,
): Promise<void> {
  const hashes = identities ? identityHashes(hmacKey, identities, subject) : {};
  const event = request.type === "erasure" ? (request.dryRun ? "erasure.previewed" : "erasure.completed") : `${request.type}.completed`;
  const detail = { subjectFound, identityHashes: hashes, steps: steps.map((s) => ({ store: s.store, table: s.table, action: s.action, rows: s.rows })) };
  // An erased subject's restrictions end with it, in the same statement (their clear key must not outlive the erasure).
  const erased = request.type === "erasure" && !request.dryRun && subjectFound && hashes.id ? hashes.id : null;
  await completeRequest(ds, {
    requestId: request.id,
    result: { steps, subjectFound },
    event,
    subjectHash: hashes.id ?? request.subjectHash,
    detail,
    endRestrictionsOf: erased,
  });
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
