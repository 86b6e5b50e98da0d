import type { Config } from "../config";
import { HttpProblem, PROBLEM_TYPES } from "../http/problem";
import { asPermanentIfHopeless } from "../erasure/flow";
import { encryptJson } from "../crypto";
import type { StoreSet } from "../stores/store-set";
import { subjectHash } from "../subject/hashes";
import type { SubjectRef } from "../subject/reference";
import type { SubjectSnapshot } from "../subject/snapshot";
import type { DataMap } from "../datamap/schema";

/**
 * The subject of a rights request, found in the subject store before anything is recorded: a
 * restriction, a suppression or a consent event names the person by the keyed hash of their key
 * (as legal holds and sweeps do), whichever identity the request named them by.
 */

/** No subject matches the reference (a 404 naming the identity, never its value). */
export class SubjectNotFoundError extends HttpProblem {
  constructor(ref: SubjectRef) {
    super({ type: PROBLEM_TYPES.notFound, title: "Subject not found", status: 404, detail: `no subject matches the given ${ref.name}` });
  }
}

/** Resolves `ref` in the subject store; throws {@link SubjectNotFoundError} when nobody matches. */
export async function resolveOrThrow(map: DataMap, stores: StoreSet, ref: SubjectRef): Promise<SubjectSnapshot> {
  const store = map.subject.store;
  const adapter = stores.adapter(store);
  if (!adapter.resolveSubject) throw new Error(`store "${store}" cannot resolve subjects`);
  let snapshot: SubjectSnapshot | null;
  try {
    snapshot = await adapter.resolveSubject(ref);
  } catch (err) {
    throw asPermanentIfHopeless(err, store);
  }
  if (!snapshot || snapshot.identities.id === undefined) throw new SubjectNotFoundError(ref);
  return snapshot;
}

/** The keyed hash restrictions, suppressions and consents name a subject by: `HMAC(key, "id:" + subject key)`. */
export function keyHashOf(config: Pick<Config, "hmacKey">, snapshot: SubjectSnapshot): string {
  return subjectHash(config.hmacKey, "id", snapshot.identities.id!);
}

/** The person's reference as a notice seals it: by key (an identity such as email may be rectified meanwhile). */
export function sealedKeyRef(config: Pick<Config, "encryptionKey">, snapshot: SubjectSnapshot): Buffer {
  return encryptJson(config.encryptionKey, { ref: { name: "id", value: snapshot.identities.id! }, identities: snapshot.identities, seed: snapshot.seed });
}
