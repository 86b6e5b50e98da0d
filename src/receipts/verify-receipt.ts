import { createPublicKey, verify, type KeyObject } from "node:crypto";
import type { StepAction } from "../types";

/**
 * A signed statement of what an erasure did per store: deleted / anonymized / kept (with ground) /
 * shared / notified counts. No personal values. Signed with Ed25519 so the application, the
 * subject or an auditor can check it with the public key alone (`GET /v1/receipts/public-key`).
 */
export interface Receipt {
  version: 1;
  issuer: "lethe";
  requestId: string;
  type: string;
  status: "completed";
  dryRun: boolean;
  receivedAt: string;
  dueAt: string;
  completedAt: string;
  /**
   * How the request ended (`requests/outcome`): `done`, `previewed` (a dry run) or
   * `subject_not_found` (nothing was erased: no subject matched). Absent in receipts of requests
   * completed before issue 9.
   */
  outcome?: "done" | "previewed" | "subject_not_found";
  /** False when no subject matched the request (then `verified` is false too). */
  subjectFound?: boolean;
  /**
   * Every store was re-checked after the erasure (the finalizer re-located the subject, or the
   * store did inside its transaction before COMMIT) and nothing identifying was left. Never true
   * for a preview, a subject not found, or a request that is not an erasure.
   */
  verified: boolean;
  stores: Array<{
    store: string;
    kind: string;
    steps: Array<{ table: string; action: StepAction; rows: number; ground?: string }>;
    /**
     * An OpenDSR processor's own signed answer (its last status body, byte for byte, the base64
     * `X-OpenDSR-Signature` over it, and the domain it signed as): checkable against the processor's certificate.
     */
    processorAnswer?: { body: string; signature: string; domain: string };
  }>;
}

/** A receipt with its detached signature over the receipt's canonical JSON ({@link canonicalJson}). */
export interface SignedReceipt {
  receipt: Receipt;
  signature: { alg: "Ed25519"; keyId: string; value: string };
}

/** The body of `GET /v1/receipts/public-key`. */
export interface ReceiptPublicKey {
  alg: "Ed25519";
  /** First 16 hex characters of the SHA-256 of the key's SPKI DER; a receipt's `signature.keyId`. */
  keyId: string;
  publicKeyPem: string;
}

/**
 * Canonical JSON, the bytes a receipt's signature covers: `JSON.stringify` of the value with the
 * keys of every object sorted (by UTF-16 code units, as `<` compares strings) at every level,
 * members whose value is `undefined` left out, arrays in their order, no whitespace. Plain
 * `JSON.stringify(receipt)` keeps the keys in arrival order and does not verify.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Checks a signed receipt (`GET /v1/requests/:id/receipt`) against Lethe's receipt key: the
 * Ed25519 signature over {@link canonicalJson} of `signed.receipt`. `publicKey` is the PEM, a
 * `KeyObject`, or the body of `GET /v1/receipts/public-key` (then its `keyId` must match the
 * signature's too). Pin the key you fetched once: a key fetched next to the receipt proves only
 * that the same server sent both. Returns false for anything malformed; throws only for a key
 * that is not a public key.
 */
export function verifyReceipt(signed: SignedReceipt, publicKey: string | KeyObject | ReceiptPublicKey): boolean {
  const sig: unknown = (signed as { signature?: unknown } | null)?.signature;
  if (!sig || typeof sig !== "object") return false;
  const { alg, value, keyId } = sig as Record<string, unknown>;
  if (alg !== "Ed25519" || typeof value !== "string" || !signed.receipt || typeof signed.receipt !== "object") return false;
  let key: KeyObject;
  if (typeof publicKey === "string") key = createPublicKey(publicKey);
  else if ("publicKeyPem" in publicKey) {
    if (publicKey.keyId !== keyId) return false;
    key = createPublicKey(publicKey.publicKeyPem);
  } else key = publicKey;
  if (key.asymmetricKeyType !== "ed25519") return false;
  return verify(null, Buffer.from(canonicalJson(signed.receipt)), key, Buffer.from(value, "base64"));
}
