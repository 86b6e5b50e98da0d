import { createHash, createPrivateKey, createPublicKey, hkdfSync, sign, type KeyObject } from "node:crypto";
import type { DataSource } from "typeorm";
import type { DataMap } from "../datamap/schema";
import { signedAnswersOf } from "../db/tables/opendsr-call";
import { recordedSteps } from "../db/tables/request-store";
import { openDsrStoreOf, processorDomainOf } from "../stores/opendsr/schema";
import { receiptRow } from "../db/tables/subject-request";
import { isVerified, outcomeOf } from "../requests/outcome";
import { canonicalJson, type Receipt, type SignedReceipt } from "./verify-receipt";

/** The receipt types and check live in `verify-receipt.ts` (no database code), so the package can export them alone. */
export { canonicalJson, verifyReceipt, type Receipt, type SignedReceipt } from "./verify-receipt";

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

/** Signs a receipt. */
export function signReceipt(receipt: Receipt, hmacKey: Buffer): SignedReceipt {
  const keys = receiptKeys(hmacKey);
  const value = sign(null, Buffer.from(canonicalJson(receipt)), keys.privateKey).toString("base64");
  return { receipt, signature: { alg: "Ed25519", keyId: keys.keyId, value } };
}

/**
 * Builds the receipt of a completed request, or null when there is none (unknown or unfinished).
 * A subject not found gets `outcome: "subject_not_found"`, `subjectFound: false` and never
 * `verified: true`.
 */
export async function buildReceipt(ds: DataSource, dataMap: DataMap, requestId: string): Promise<Receipt | "unfinished" | null> {
  if (!/^[0-9a-f-]{36}$/i.test(requestId)) return null;
  const r = await receiptRow(ds, requestId);
  if (!r) return null;
  if (r.status !== "completed" || !r.completed_at) return "unfinished";
  const request = { type: r.type, status: r.status, dryRun: r.dry_run, result: r.result };
  const steps = r.dry_run ? (r.result?.steps ?? []) : await recordedSteps(ds, requestId);
  const byStore = new Map<string, Receipt["stores"][number]>();
  for (const s of steps) {
    const entry = byStore.get(s.store) ?? { store: s.store, kind: dataMap.stores[s.store]?.kind ?? "unknown", steps: [] };
    entry.steps.push({ table: s.table, action: s.action, rows: s.rows, ...(s.ground ? { ground: s.ground } : {}) });
    byStore.set(s.store, entry);
  }
  if (!r.dry_run) {
    for (const [store, answer] of await signedAnswersOf(ds, requestId)) {
      const entry = byStore.get(store);
      const spec = openDsrStoreOf(dataMap, store);
      if (entry && spec) entry.processorAnswer = { ...answer, domain: processorDomainOf(spec) };
    }
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
    outcome: outcomeOf(request)!,
    subjectFound: r.result?.subjectFound ?? true,
    verified: isVerified(request),
    stores: [...byStore.values()],
  };
}
