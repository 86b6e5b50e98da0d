import { createHash } from "node:crypto";
import type { DataMap } from "../datamap/schema";
import { getOpenDsrRequest, insertOpenDsrRequest, type OpenDsrRequestRow } from "../db/tables/opendsr-request";
import { dueDateFor } from "../requests/due-date";
import { submitRequest, type RequestServices } from "../requests/service";
import type { StoreSet } from "../stores/store-set";
import { webhookUrlProblem } from "../stores/webhook/check-webhook";
import { OpenDsrError, validationError } from "./error-object";
import { OPENDSR_API_VERSION, type DiscoveryBody, type OpenDsrIdentity, type OpenDsrRequestBody } from "./protocol";

/**
 * Lethe as an OpenDSR processor: what it tells controllers it supports (discovery) and how a
 * request becomes a Lethe request. `erasure` → an erasure; `access` and `portability` → an export
 * (zip of JSON and CSV, mailed to the subject and linked as `results_url`). Identities:
 * `controller_customer_id` (raw) is the subject key; `email` raw is the `email` identity; `email`
 * sha256 is the digest of the normalised email, looked up in the subject store.
 */

/** A submitted time may run ahead of Lethe's clock by this much (clock skew). */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The identity pairs Lethe honours for the map: the key always; `email` raw and sha256 when the map has an `email` identity. */
export function supportedIdentities(dataMap: DataMap): Array<{ identity_type: string; identity_format: string }> {
  const pairs = [{ identity_type: "controller_customer_id", identity_format: "raw" }];
  if ("email" in dataMap.subject.identities)
    pairs.push({ identity_type: "email", identity_format: "raw" }, { identity_type: "email", identity_format: "sha256" });
  return pairs;
}

/** The discovery answer (§6.3); the certificate is served under the same prefix. */
export function discoveryOf(dataMap: DataMap, publicUrl: string): DiscoveryBody {
  return {
    api_version: OPENDSR_API_VERSION,
    supported_identities: supportedIdentities(dataMap),
    supported_subject_request_types: ["erasure", "access", "portability"],
    processor_certificate: `${publicUrl}/opendsr/v2/certificate.pem`,
  };
}

/** How the request names its subject for Lethe: directly, or by an sha256 digest still to look up. */
type Chosen = { subject: Record<string, string> } | { hashed: { name: string; digest: string } };

/** The first identity Lethe can use, in order of preference: the key, the raw email, the email digest. */
function chooseIdentity(dataMap: DataMap, identities: OpenDsrIdentity[]): Chosen {
  const find = (type: string, format: string) => identities.find((i) => i.identity_type === type && i.identity_format === format);
  const key = find("controller_customer_id", "raw");
  if (key) return { subject: { id: key.identity_value } };
  if ("email" in dataMap.subject.identities) {
    const raw = find("email", "raw");
    if (raw) return { subject: { email: raw.identity_value } };
    const hashed = find("email", "sha256");
    if (hashed) {
      if (!/^[0-9a-fA-F]{64}$/.test(hashed.identity_value))
        throw validationError([{ field: "subject_identities", message: "an sha256 identity_value must be 64 hex digits" }]);
      return { hashed: { name: "email", digest: hashed.identity_value.toLowerCase() } };
    }
  }
  const pairs = supportedIdentities(dataMap)
    .map((p) => `${p.identity_type}/${p.identity_format}`)
    .join(", ");
  throw new OpenDsrError(400, `no identity Lethe can honour; supported: ${pairs}`, [
    { domain: "Identity", reason: "UnsupportedIdentity", message: `no identity Lethe can honour; supported: ${pairs}` },
  ]);
}

/** What submitting an OpenDSR request uses. */
export type InboundServices = RequestServices & { stores?: Pick<StoreSet, "adapter"> };

/** The outcome of `POST /requests`: the stored row, and whether it was a replay of the same body. */
export interface Submitted {
  row: OpenDsrRequestRow;
  replayed: boolean;
}

function replayOf(existing: OpenDsrRequestRow, controllerId: string, bodySha256: string): Submitted {
  if (existing.controllerId !== controllerId || existing.bodySha256 !== bodySha256) {
    throw new OpenDsrError(400, "subject_request_id was already used for another request; generate a new UUID v4", [
      { domain: "Request", reason: "DuplicateSubjectRequestId", message: "subject_request_id was already used for another request" },
    ]);
  }
  return { row: existing, replayed: true };
}

/**
 * Records an OpenDSR request (validated already) from `controllerId` (the API key's name):
 * `subject_request_id` is the idempotency key (the same body again answers the same; another body
 * is a 400), `submitted_time` starts the Art. 12(3) clock. `raw` is the body as received.
 */
export async function submitOpenDsr(s: InboundServices, controllerId: string, body: OpenDsrRequestBody, raw: Buffer): Promise<Submitted> {
  const bodySha256 = createHash("sha256").update(raw).digest("hex");
  const existing = await getOpenDsrRequest(s.ds, body.subject_request_id);
  if (existing) return replayOf(existing, controllerId, bodySha256);

  const submittedAt = new Date(body.submitted_time);
  if (submittedAt.getTime() > Date.now() + MAX_CLOCK_SKEW_MS) throw validationError([{ field: "submitted_time", message: "must not be in the future" }]);
  const urls = body.status_callback_urls ?? [];
  urls.forEach((u, i) => {
    const problem = webhookUrlProblem(u);
    if (problem) throw validationError([{ field: `status_callback_urls.${i}`, message: problem }]);
  });
  if (!body.subject_identities) {
    throw validationError([{ field: "subject_identities", message: "is required (Lethe reads no processor extension for identities)" }]);
  }
  const chosen = chooseIdentity(s.dataMap, body.subject_identities);
  let subject: Record<string, string> | null;
  if ("subject" in chosen) {
    subject = chosen.subject;
  } else {
    const adapter = s.stores?.adapter(s.dataMap.subject.store);
    if (!adapter?.findByHashedIdentity) throw new OpenDsrError(400, "sha256 identities cannot be looked up in this deployment; send the raw email");
    const key = await adapter.findByHashedIdentity(chosen.hashed.name, chosen.hashed.digest);
    subject = key === null ? null : { id: key };
  }

  const expectedAt = dueDateFor(submittedAt);
  let requestId: string | null = null;
  if (subject) {
    const { request } = await submitRequest(s, {
      type: body.subject_request_type === "erasure" ? "erasure" : "export",
      subject,
      idempotencyKey: `opendsr-${body.subject_request_id}`,
      requestedBy: controllerId,
      receivedAt: submittedAt,
    });
    requestId = request.id;
  }
  const inserted = await insertOpenDsrRequest(s.ds, {
    subjectRequestId: body.subject_request_id,
    controllerId,
    requestId,
    type: body.subject_request_type,
    bodySha256,
    submittedAt,
    expectedAt,
    callbackUrls: urls,
    subjectFound: subject !== null,
  });
  const row = await getOpenDsrRequest(s.ds, body.subject_request_id);
  if (!row) throw new Error("the OpenDSR request vanished after it was recorded");
  return inserted ? { row, replayed: false } : replayOf(row, controllerId, bodySha256);
}
