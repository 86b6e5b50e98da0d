import { ERROR_CODES, PermanentError } from "../../errors";

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
    case ERROR_CODES.processorRejected:
      return new PermanentError(code, `store "${store}": the processor rejected the erasure with HTTP ${lastHttpStatus ?? "?"}`);
    case ERROR_CODES.processorDeadlineExceeded:
      return new PermanentError(code, `store "${store}": the processor did not confirm the erasure before the deadline (last answer: ${last})`);
    default:
      return new PermanentError(code, `store "${store}": the processor reported that the erasure failed${reason ? ` (reason: ${reason})` : ""}`);
  }
}
