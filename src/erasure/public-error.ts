import { ERROR_CODES, PermanentError, RetryableFailure } from "../errors";

/**
 * A failure as Lethe may store and show it: a stable code and a message with no personal data.
 * Driver messages can quote values (`invalid input syntax for type integer: "…"`), so only our
 * own messages and SQLSTATEs are passed on.
 */
export function publicError(err: unknown, store?: string): { code: string; message: string } {
  if (err instanceof PermanentError || err instanceof RetryableFailure) return { code: err.code, message: err.message };
  const code = (err as { code?: unknown }).code;
  const where = store ? `store "${store}": ` : "";
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    const constraint = (err as { constraint?: unknown }).constraint;
    const tail = typeof constraint === "string" ? ` (constraint ${constraint})` : "";
    return { code: ERROR_CODES.storeFailed, message: `${where}postgres error ${code}${tail}` };
  }
  return { code: ERROR_CODES.storeFailed, message: `${where}${err instanceof Error ? err.name : "error"}${typeof code === "string" ? ` ${code}` : ""}` };
}

/**
 * SQLSTATE classes a retry cannot fix: data exceptions (22: e.g. an id that is not a valid
 * integer), integrity violations (23: the data map disagrees with the schema), and undefined
 * objects (42: a table or column vanished).
 */
export function isPermanentSqlState(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^(22|23|42)/.test(code);
}
