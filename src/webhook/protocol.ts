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

/**
 * What Lethe asks a processor to do: `erase` (with a callback URL, see {@link ProcessorCallBody}),
 * and the recipient events (Art. 19, 21, 7(3)) `rectify`, `restrict`, `lift-restriction`,
 * `object`, `withdraw-consent` ({@link RecipientEventBody}); `export` is reserved for a later version.
 */
export type ProcessorAction = "erase" | "export" | "rectify" | "restrict" | "lift-restriction" | "object" | "withdraw-consent";

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

/**
 * Body of a recipient event (`Idempotency-Key: <action>-<requestId>-<store>`). A processor answers
 * 2xx when done (or `{"status":"skipped","reason":"…"}` when it holds nothing concerned), 202 when
 * it took it for later, 400 or 501 when it does not know the action (recorded `unsupported`).
 */
export interface RecipientEventBody {
  action: "rectify" | "restrict" | "lift-restriction" | "object" | "withdraw-consent";
  requestId: string;
  /** The identities the data map lets this processor see. */
  subject: Record<string, string>;
  /** `rectify`: the changed fields the processor holds (its store's `fields`), with their new values. */
  changes?: Array<{ field: string; value: string | null }>;
  /** `restrict`, `lift-restriction`: the ground of Art. 18(1) (`a`–`d`) and the purpose, if any. */
  restriction?: { ground: string; purpose: string | null };
  /** `object`, `withdraw-consent`: the purpose concerned. */
  purpose?: string;
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
