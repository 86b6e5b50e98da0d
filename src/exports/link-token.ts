import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed download links: `token = <expiry, unix seconds>.<base64url HMAC-SHA256(id, expiry)>`.
 * The key is derived from LETHE_HMAC_KEY for this one use, so a link MAC can never be confused
 * with an audit hash. The token is the only credential of a download; it is never logged.
 */

/** Why a token was refused: `tampered` (403) or `expired` (410). */
export type TokenCheck = { ok: true; expiresAt: Date } | { ok: false; reason: "tampered" | "expired" };

function linkKey(hmacKey: Buffer): Buffer {
  return createHmac("sha256", hmacKey).update("lethe/export-link/v1").digest();
}

function mac(hmacKey: Buffer, exportId: string, expiry: number): Buffer {
  return createHmac("sha256", linkKey(hmacKey)).update(`${exportId.toLowerCase()}\n${expiry}`).digest();
}

/** The link's expiry, rounded down to whole seconds (what the token can carry). */
export function linkExpiry(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/** Signs a link for `exportId` valid until `expiresAt`. */
export function signExportToken(hmacKey: Buffer, exportId: string, expiresAt: Date): string {
  const expiry = Math.floor(expiresAt.getTime() / 1000);
  return `${expiry}.${mac(hmacKey, exportId, expiry).toString("base64url")}`;
}

/**
 * Checks a token in constant time. The signature is checked before the expiry, so an altered
 * expiry is `tampered`, not `expired`.
 */
export function verifyExportToken(hmacKey: Buffer, exportId: string, token: string, now = new Date()): TokenCheck {
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: "tampered" };
  const expiry = Number(m[1]);
  const given = Buffer.from(m[2]!, "base64url");
  const expected = mac(hmacKey, exportId, expiry);
  // A non-canonical encoding of the right MAC (other padding bits in the last character) is an alteration too.
  const canonical = given.toString("base64url") === m[2];
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || !canonical) return { ok: false, reason: "tampered" };
  if (expiry * 1000 <= now.getTime()) return { ok: false, reason: "expired" };
  return { ok: true, expiresAt: new Date(expiry * 1000) };
}

/** The download URL of an export, under the API's public base URL. */
export function downloadUrl(publicUrl: string, exportId: string, token: string): string {
  return `${publicUrl}/v1/exports/${encodeURIComponent(exportId)}/download?token=${encodeURIComponent(token)}`;
}
