import { hmacHex } from "../crypto";

/**
 * Keyed hash naming a subject without storing it: `HMAC(key, "<identity>:<value>")`.
 * Emails are compared case-insensitively, so they are lower-cased first.
 */
export function subjectHash(key: Buffer, identity: string, value: string): string {
  const v = identity === "email" ? value.trim().toLowerCase() : value;
  return hmacHex(key, `${identity}:${v}`);
}

/** Keyed hashes of every identity of a subject, as holds and the audit log name it. */
export function identityHashes(hmacKey: Buffer, identities: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(identities)) out[name] = subjectHash(hmacKey, name, value);
  return out;
}
