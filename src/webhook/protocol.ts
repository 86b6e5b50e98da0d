/**
 * The webhook protocol between Lethe and a processor (see `docs/webhook-protocol.md`): header
 * names and the JSON bodies on the wire. Exported from the package so a Node receiver can use
 * the same names and types.
 */

/** Header with the signing time, in unix seconds. */
export const TIMESTAMP_HEADER = "Lethe-Timestamp";
/** Header with the signature(s): `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. */
export const SIGNATURE_HEADER = "Lethe-Signature";
/** Header with the key a processor dedupes on: `erase-<requestId>-<store>`, the same on every retry. */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Version tag of the signature scheme in {@link SIGNATURE_HEADER}. */
export const SIGNATURE_VERSION = "v1";
/** How far a signed timestamp may be from the receiver's clock, in seconds. (Default: 300) */
export const DEFAULT_TOLERANCE_SEC = 300;

/** What Lethe asks a processor to do; `export` is reserved for a later version. */
export type ProcessorAction = "erase" | "export";

/** Body of Lethe's POST to a processor. */
export interface ProcessorCallBody {
  action: ProcessorAction;
  /** Lethe's request id (an opaque uuid). */
  requestId: string;
  /** The identities the data map lets this processor see, e.g. `{ "email": "…" }`. */
  subject: Record<string, string>;
  /** Where to report the outcome of a 202, once: `<LETHE_PUBLIC_URL>/v1/callbacks/<token>`. */
  callbackUrl: string;
}

/** Optional body of a processor's 202: a URL Lethe polls (signed GET) when the store allows it. */
export interface AcceptedBody {
  statusUrl?: string;
}

/** Body of a processor's callback (`POST <callbackUrl>`), and of a status URL's answer (`pending` there only). */
export interface ProcessorStatusBody {
  status: "done" | "failed" | "pending";
  /** A short machine-readable reason for `failed` (`[A-Za-z0-9_.-]{1,64}`; free text is not recorded). */
  reason?: string;
}

/** The idempotency key of one store's erase call of one request. */
export function idempotencyKeyOf(requestId: string, store: string): string {
  return `erase-${requestId}-${store}`;
}
