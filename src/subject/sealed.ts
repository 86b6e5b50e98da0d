import { decryptJson, encryptJson } from "../crypto";
import type { SubjectContact } from "./contact";
import type { SubjectRef } from "./reference";

/**
 * What Lethe keeps about a subject while its request runs, sealed with AES-256-GCM on the
 * request row and wiped when the request ends.
 */
export interface SealedIdentities {
  /** The reference as the request gave it. */
  ref: SubjectRef;
  /** Snapshot taken before anything is destroyed: key and identity columns, as text. */
  identities?: Record<string, string>;
  /** The subject row's link-column values (as text), to re-derive and verify after the erasure. */
  seed?: Record<string, string | null>;
  /** Where mail to the subject goes, read with the snapshot (`subject.contact`). */
  contact?: SubjectContact;
}

/** Seals {@link SealedIdentities}. */
export function sealIdentities(key: Buffer, value: SealedIdentities): Buffer {
  return encryptJson(key, value);
}

/** Opens what {@link sealIdentities} sealed. */
export function openIdentities(key: Buffer, sealed: Buffer): SealedIdentities {
  return decryptJson<SealedIdentities>(key, sealed);
}
