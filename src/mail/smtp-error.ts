import { ERROR_CODES, PermanentError } from "../errors";

/**
 * What went wrong with an SMTP send, in words that name no address. nodemailer's own messages
 * quote the server's reply, which usually quotes the recipient ("550 <x@y>: no such user"), so
 * they are never passed on, logged or stored.
 */
export interface SmtpFailureInfo {
  /** True for a 5xx reply: the server refused the message, a retry cannot help. */
  permanent: boolean;
  /** Stable code: `smtp_rejected`, `smtp_deferred`, `smtp_unreachable`, `smtp_auth`, `smtp_error`. */
  code: string;
  /** The SMTP reply code, when the server answered. */
  smtpCode: number | null;
  message: string;
}

const NETWORK_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETLS"]);

/** Classifies a nodemailer error: 5xx permanent; 4xx, network and authentication errors retryable. */
export function classifySmtpError(err: unknown): SmtpFailureInfo {
  const e = err as { responseCode?: unknown; code?: unknown };
  const reply = typeof e.responseCode === "number" ? e.responseCode : null;
  const code = typeof e.code === "string" ? e.code : null;
  if (code === "EAUTH" || code === "ENOAUTH") {
    // Credentials are the operator's to fix; the job retries (with backoff) meanwhile.
    return {
      permanent: false,
      code: ERROR_CODES.smtpAuth,
      smtpCode: reply,
      message: `the mail server refused Lethe's credentials${reply ? ` (SMTP ${reply})` : ""}; check SMTP_URL`,
    };
  }
  if (reply !== null && reply >= 500 && reply <= 599) {
    return { permanent: true, code: ERROR_CODES.smtpRejected, smtpCode: reply, message: `the mail server refused the message (SMTP ${reply})` };
  }
  if (reply !== null && reply >= 400 && reply <= 499) {
    return { permanent: false, code: ERROR_CODES.smtpDeferred, smtpCode: reply, message: `the mail server deferred the message (SMTP ${reply})` };
  }
  if (code !== null && NETWORK_CODES.has(code)) {
    return { permanent: false, code: ERROR_CODES.smtpUnreachable, smtpCode: null, message: `the mail server could not be reached (${code})` };
  }
  return { permanent: false, code: ERROR_CODES.smtpError, smtpCode: reply, message: `sending the message failed${code ? ` (${code})` : ""}` };
}

/** A retryable send failure, carrying only {@link SmtpFailureInfo}. */
export class SmtpRetryableError extends Error {
  override readonly name = "SmtpRetryableError";
  constructor(readonly info: SmtpFailureInfo) {
    super(info.message);
  }
  /** Stable code of the failure. */
  get code(): string {
    return this.info.code;
  }
}

/** A 5xx refusal: fails the job at once (the `UnrecoverableError` name is kept). */
export class SmtpRejectedError extends PermanentError {
  constructor(readonly info: SmtpFailureInfo) {
    super(info.code, info.message);
  }
}

/** The error a send job throws for `err`; never the original (its message may name the recipient). */
export function smtpFailure(err: unknown): SmtpRetryableError | SmtpRejectedError {
  const info = classifySmtpError(err);
  return info.permanent ? new SmtpRejectedError(info) : new SmtpRetryableError(info);
}
