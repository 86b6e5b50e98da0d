import { UnrecoverableError } from "bullmq";

/**
 * Postgres SQLSTATEs and Node error codes a retry can fix: serialization failure, deadlock,
 * cannot-connect-now, admin shutdown, connection resets. Everything else is judged by its kind.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "40001",
  "40P01",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "08000",
  "08003",
  "08006",
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
]);

/** True when `err` (or its cause) is in {@link TRANSIENT_CODES}. */
export function isTransient(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A failure a retry cannot fix. Keeps BullMQ's `UnrecoverableError` name so BullMQ fails the
 * job at once. `code` is a stable machine-readable reason; the message never holds personal data.
 */
export class PermanentError extends UnrecoverableError {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    // BullMQ recognises unrecoverable failures by class or by this name; keep the name.
    this.name = "UnrecoverableError";
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Error codes stored on a failed request. */
export const ERROR_CODES = {
  subjectAmbiguous: "subject_ambiguous",
  dataMapInvalid: "data_map_invalid",
  storeFailed: "store_failed",
  verifyFailed: "verification_failed",
  badPayload: "bad_payload",
  unknownRequest: "unknown_request",
} as const;
