import { createHmac, timingSafeEqual } from "node:crypto";
import { DEFAULT_TOLERANCE_SEC, SIGNATURE_VERSION } from "./protocol";

/**
 * Signing and verification of webhook calls, both ways: Lethe signs its calls to processors and
 * processors sign their callbacks, each with the store's shared secret.
 */

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^\d{1,12}$/;

function mac(secret: string, rawBody: string | Buffer, timestamp: string): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(rawBody).digest();
}

/** The `Lethe-Signature` value for `rawBody` signed at `timestamp` (unix seconds): `v1=<hex>`. */
export function signLethePayload(secret: string, rawBody: string | Buffer, timestamp: number | string): string {
  return `${SIGNATURE_VERSION}=${mac(secret, rawBody, String(timestamp)).toString("hex")}`;
}

/** What {@link verifyLetheSignature} checks: the headers as received and the body byte for byte. */
export interface VerifySignatureInput {
  secret: string;
  /** The `Lethe-Timestamp` header (unix seconds). */
  timestamp: string | number | undefined;
  /** The `Lethe-Signature` header; several `v1=` entries separated by commas are allowed (secret rotation). */
  signature: string | undefined;
  /** The body exactly as received (before any JSON parsing). */
  rawBody: string | Buffer;
  /** How far the timestamp may be from `now`, in seconds. (Default: 300) */
  toleranceSec?: number;
  /** The receiver's clock in milliseconds. (Default: `Date.now()`) */
  now?: number;
}

/**
 * True when the signature is valid for this body and timestamp and the timestamp is within the
 * tolerance. Constant-time in the signature; a missing or malformed header is simply false.
 */
export function verifyLetheSignature(input: VerifySignatureInput): boolean {
  const { secret, signature, rawBody } = input;
  const timestamp = input.timestamp === undefined ? "" : String(input.timestamp);
  if (!secret || !signature || !UNIX_SECONDS.test(timestamp)) return false;
  const nowSec = (input.now ?? Date.now()) / 1000;
  if (Math.abs(nowSec - Number(timestamp)) > (input.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) return false;
  const expected = mac(secret, rawBody, timestamp);
  let valid = false;
  for (const entry of signature.split(",")) {
    const [version, hex] = entry.trim().split("=", 2);
    if (version !== SIGNATURE_VERSION || hex === undefined || !HEX_SHA256.test(hex)) continue;
    // Every entry is compared, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, Buffer.from(hex, "hex"))) valid = true;
  }
  return valid;
}
