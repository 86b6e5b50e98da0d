/**
 * SMTP answers that mean "slow down" rather than "this message failed": 421 (service not
 * available, closing — what providers answer when a sender exceeds its rate) and 454 (temporary
 * failure, e.g. too many connections or an authentication rate limit). A throttled message waits
 * while the whole mail queue slows down; it does not use up one of its attempts.
 */
export const THROTTLE_REPLY_CODES: ReadonlySet<number> = new Set([421, 454]);

/** True when a nodemailer error is a throttling answer ({@link THROTTLE_REPLY_CODES}). */
export function isThrottled(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === "number" && THROTTLE_REPLY_CODES.has(code);
}

/** The reply code at the start of an SMTP answer (`250 2.0.0 Ok` → 250), or null. */
export function replyCodeOf(response: string | undefined): number | null {
  const m = /^(\d{3})[ -]/.exec(response ?? "");
  return m ? Number(m[1]) : null;
}

/**
 * An SMTP answer fit to store and show: addresses replaced (servers often quote the recipient),
 * control characters removed, at most 300 characters.
 */
export function redactSmtpAnswer(response: string | undefined): string | null {
  if (!response) return null;
  return response
    .replace(/[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g, "<address>")
    .replace(/\p{Cc}+/gu, " ")
    .trim()
    .slice(0, 300);
}
