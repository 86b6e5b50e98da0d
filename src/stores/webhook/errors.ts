import { PermanentError } from "../../errors";

/** Codes of a webhook store's permanent failures, stored on the call row and on the failed request. */
export const WEBHOOK_ERROR_CODES = {
  /** The processor answered a 4xx other than 408/429 (or a redirect): retrying cannot help. */
  rejected: "processor_rejected",
  /** The processor reported (callback or status URL) that it could not erase. */
  failed: "processor_failed",
  /** The processor did not confirm before the store's deadline. */
  deadlineExceeded: "processor_deadline_exceeded",
} as const;
/** One of {@link WEBHOOK_ERROR_CODES}. */
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[keyof typeof WEBHOOK_ERROR_CODES];

/**
 * A processor that did not answer usefully this time (network error, timeout, 408, 429, 5xx).
 * Retryable: BullMQ tries again with backoff until the deadline. `code` is `ECONNREFUSED`,
 * `ETIMEDOUT`, … or `HTTP_<status>`; the message names the store, never the URL or the subject.
 */
export class ProcessorUnavailableError extends Error {
  override readonly name = "ProcessorUnavailableError";
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a failed call row says, as the permanent error the step fails with. */
export function callFailure(store: string, code: string, lastHttpStatus: number | null, reason: string | null): PermanentError {
  const last = lastHttpStatus === null ? "no HTTP answer" : `HTTP ${lastHttpStatus}`;
  switch (code) {
    case WEBHOOK_ERROR_CODES.rejected:
      return new PermanentError(code, `store "${store}": the processor rejected the erasure with HTTP ${lastHttpStatus ?? "?"}`);
    case WEBHOOK_ERROR_CODES.deadlineExceeded:
      return new PermanentError(code, `store "${store}": the processor did not confirm the erasure before the deadline (last answer: ${last})`);
    default:
      return new PermanentError(code, `store "${store}": the processor reported that the erasure failed${reason ? ` (reason: ${reason})` : ""}`);
  }
}
