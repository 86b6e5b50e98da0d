import { hmacHex } from "../crypto";
import { matchOfIdentity, normalizeIdentity, type MatchRule, type SubjectIdentities } from "./identity-match";

/**
 * Keyed hash naming a subject without storing it: `HMAC(key, "<identity>:<value>")`, the value
 * normalised by the identity's match rule first (`subject/identity-match`), so a hold on
 * `" Ann@Example.com"` names the same person as an erasure of `ann@example.com`. Without a rule
 * the default for the identity's name applies (`email`: normalized).
 */
export function subjectHash(key: Buffer, identity: string, value: string, match: MatchRule = matchOfIdentity(undefined, identity)): string {
  return hmacHex(key, `${identity}:${normalizeIdentity(value, match)}`);
}

/**
 * Keyed hashes of every identity of a subject, as holds and the audit log name it. `subject` (the
 * data map's) gives each identity's match rule; without it the name's default applies.
 */
export function identityHashes(hmacKey: Buffer, identities: Record<string, string>, subject?: SubjectIdentities): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(identities)) out[name] = subjectHash(hmacKey, name, value, matchOfIdentity(subject, name));
  return out;
}
