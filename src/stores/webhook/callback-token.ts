import { createHmac } from "node:crypto";
import { sha256Hex } from "../../crypto";

/**
 * Callback tokens: the secret part of a callback URL. A token is derived from Lethe's HMAC key,
 * the request and the store, so every retry (on any worker) sends the same callback URL, and only
 * its SHA-256 is stored: reading Lethe's database does not let anyone call back.
 */

/** A token as it appears in a callback URL: 32 bytes, base64url without padding. */
export const CALLBACK_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Path of the callback route under the API's root. */
export const CALLBACK_PATH = "/v1/callbacks";

/** The callback token of one store's call for one request. */
export function callbackToken(hmacKey: Buffer, requestId: string, store: string): string {
  return createHmac("sha256", hmacKey).update(`lethe/processor-callback/v1\n${requestId}\n${store}`, "utf8").digest("base64url");
}

/** What the database keeps of a token (and looks it up by). */
export function callbackTokenHash(token: string): string {
  return sha256Hex(token);
}

/** The URL a processor calls back on, under `LETHE_PUBLIC_URL`. */
export function callbackUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}${CALLBACK_PATH}/${token}`;
}
