import { createHash, createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from "node:crypto";
import type { DataSource } from "typeorm";
import type { DataMap } from "../datamap/schema";
import { recordedSteps } from "../db/tables/request-store";
import { receiptRow } from "../db/tables/subject-request";
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
  /** The parent job re-located the subject in every store and found nothing left. */
  verified: boolean;
  stores: Array<{ store: string; kind: string; steps: Array<{ table: string; action: StepAction; rows: number; ground?: string }> }>;
}

/** A receipt with its detached signature over the receipt's canonical JSON. */
export interface SignedReceipt {
  receipt: Receipt;
  signature: { alg: "Ed25519"; keyId: string; value: string };
}

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The receipt signing key pair, derived (HKDF) from the HMAC key so no extra secret is needed. */
export function receiptKeys(hmacKey: Buffer): { privateKey: KeyObject; publicKey: KeyObject; keyId: string; publicKeyPem: string } {
  const seed = Buffer.from(hkdfSync("sha256", hmacKey, Buffer.alloc(0), "lethe receipt signing key v1", 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ format: "der", type: "spki" });
  return {
    privateKey,
    publicKey,
    keyId: createHash("sha256").update(der).digest("hex").slice(0, 16),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** Canonical JSON: object keys sorted at every level, so signer and verifier hash the same bytes. */
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

/** Signs a receipt. */
export function signReceipt(receipt: Receipt, hmacKey: Buffer): SignedReceipt {
  const keys = receiptKeys(hmacKey);
  const value = sign(null, Buffer.from(canonicalJson(receipt)), keys.privateKey).toString("base64");
  return { receipt, signature: { alg: "Ed25519", keyId: keys.keyId, value } };
}

/** Checks a signed receipt against a PEM public key. For applications and auditors. */
export function verifyReceipt(signed: SignedReceipt, publicKeyPem: string): boolean {
  if (signed.signature?.alg !== "Ed25519") return false;
  return verify(null, Buffer.from(canonicalJson(signed.receipt)), createPublicKey(publicKeyPem), Buffer.from(signed.signature.value, "base64"));
}

/** Builds the receipt of a completed request, or null when there is none (unknown or unfinished). */
export async function buildReceipt(ds: DataSource, dataMap: DataMap, requestId: string): Promise<Receipt | "unfinished" | null> {
  if (!/^[0-9a-f-]{36}$/i.test(requestId)) return null;
  const r = await receiptRow(ds, requestId);
  if (!r) return null;
  if (r.status !== "completed" || !r.completed_at) return "unfinished";
  const steps = r.dry_run ? (r.result?.steps ?? []) : await recordedSteps(ds, requestId);
  const byStore = new Map<string, Receipt["stores"][number]>();
  for (const s of steps) {
    const entry = byStore.get(s.store) ?? { store: s.store, kind: dataMap.stores[s.store]?.kind ?? "unknown", steps: [] };
    entry.steps.push({ table: s.table, action: s.action, rows: s.rows, ...(s.ground ? { ground: s.ground } : {}) });
    byStore.set(s.store, entry);
  }
  return {
    version: 1,
    issuer: "lethe",
    requestId: r.id,
    type: r.type,
    status: "completed",
    dryRun: r.dry_run,
    receivedAt: r.received_at.toISOString(),
    dueAt: r.due_at.toISOString(),
    completedAt: r.completed_at.toISOString(),
    verified: !r.dry_run,
    stores: [...byStore.values()],
  };
}
