import { UnrecoverableError } from "bullmq";

/**
 * Postgres SQLSTATEs and Node error codes a retry can fix: serialization failure, deadlock,
 * cannot-connect-now, admin shutdown, a lock wait that timed out, connection resets. Everything else is judged by its kind.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "40001",
  "40P01",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "55P03",
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

/**
 * A failure a retry can fix, with a stable `code` that the request records if the attempts
 * (LETHE_JOB_ATTEMPTS) run out. The message never holds personal data.
 */
export class RetryableFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RetryableFailure";
  }
}

/**
 * An erasure's verification found something identifying left (`leftovers`: store, table and
 * count only). Retryable (issue 9, item 14): someone else may have changed the subject's rows
 * between the erasure and its check (a retention sweep masking the same customer); the next
 * attempt erases again, idempotently, and checks again. Only when the attempts run out does the
 * request fail with `verification_failed`.
 */
export class VerificationFailure extends RetryableFailure {
  constructor(readonly leftovers: string[]) {
    super(ERROR_CODES.verifyFailed, `verification failed: ${leftovers.join("; ")}`);
    this.name = "VerificationFailure";
  }
}

/**
 * Every code Lethe stores on a failed request, run, export, delivery or processor call, and
 * reports in job failures and callbacks: stable, machine-readable, never personal data.
 */
export const ERROR_CODES = {
  /** More than one subject row matches the given key or identity. */
  subjectAmbiguous: "subject_ambiguous",
  /** The data map disagrees with itself or with the live stores (run `lethe check`). */
  dataMapInvalid: "data_map_invalid",
  /** A store failed in a way no retry fixes (a driver error, by SQLSTATE only). */
  storeFailed: "store_failed",
  /** Something identifying was left after an erasure. */
  verifyFailed: "verification_failed",
  /** A job's payload does not match its schema, or the request lacks what the job needs. */
  badPayload: "bad_payload",
  /** No request (or export) has this id. */
  unknownRequest: "unknown_request",
  /** The request's job failed for good (the reconciler found it failed). */
  jobFailed: "job_failed",
  /** A retention run was failed elsewhere while a batch ran (the batch rolled back). */
  runNotRunning: "run_not_running",
  /** A store kind (or a value in it) that cannot be exported yet: the export fails closed. */
  storeNotExportable: "store_not_exportable",
  /** An identity value that cannot be used in a files store's path (`/`, `..`, …). */
  unsafeIdentity: "unsafe_identity",
  /** The export is no longer building (expired, failed, deleted). */
  exportGone: "export_gone",
  /** The export's mail job found the export not ready. */
  exportNotReady: "export_not_ready",
  /** The download link expired before the mail could be sent. */
  exportExpired: "export_expired",
  /** The subject has no email identity to send the link to. */
  noRecipient: "no_recipient",
  /** The message failed earlier (a 5xx); it is not sent again. */
  mailFailed: "mail_failed",
  /** The mail server refused the message (5xx). */
  smtpRejected: "smtp_rejected",
  /** The mail server deferred the message (4xx); retried. */
  smtpDeferred: "smtp_deferred",
  /** The mail server could not be reached; retried. */
  smtpUnreachable: "smtp_unreachable",
  /** The mail server refused Lethe's credentials. */
  smtpAuth: "smtp_auth",
  /** Sending failed otherwise; retried. */
  smtpError: "smtp_error",
  /** A processor answered a 4xx other than 408/429 (or a redirect): retrying cannot help. */
  processorRejected: "processor_rejected",
  /** A processor reported (callback or status URL) that it could not erase. */
  processorFailed: "processor_failed",
  /** A processor did not confirm before the store's deadline. */
  processorDeadlineExceeded: "processor_deadline_exceeded",
  /** The application's callback URL answered a 4xx (other than 408/429). */
  callbackRejected: "callback_rejected",
  /** A breach scope the data map or the live schema no longer allows: it cannot be frozen. */
  scopeFailed: "scope_failed",
  /** An affected person has no contact address (or it was wiped): their notice cannot be sent. */
  noContact: "no_contact",
  /** The mail server throttled the sending (421, 454); the queue slowed down and the message waits. */
  smtpThrottled: "smtp_throttled",
  /** The request was submitted under another data map (or mapped schema) than this worker runs: deploy one map everywhere. */
  mapMismatch: "map_mismatch",
  /** The leftover audit found erased subjects' identities still present (names and counts in the message). */
  leftoversFound: "leftovers_found",
  /** A recipient (a processor) could not be told of a rectification, restriction, objection or withdrawal. */
  recipientFailed: "recipient_failed",
  /** The request was cancelled (an OpenDSR controller's DELETE) before it started. */
  cancelled: "cancelled",
  /** An OpenDSR processor's answer was not signed by a trusted certificate of its domain. */
  opendsrUntrusted: "opendsr_untrusted",
  /** An OpenDSR processor cancelled the request, or answered with an unusable body. */
  opendsrRejected: "opendsr_rejected",
} as const;
/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** A request that cannot be accepted (a 400); `field` names the offending input (e.g. `subject.phone`). */
export class RequestInputError extends Error {
  override readonly name = "RequestInputError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
