import { invalidRequest } from "./problem";

/** Longest subject value accepted (an email address is at most 320 characters). */
export const MAX_SUBJECT_VALUE = 320;

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

/** Reads the optional `Idempotency-Key` header (1..200 printable ASCII characters). */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== "string" || !IDEMPOTENCY_KEY.test(header)) {
    throw invalidRequest([{ field: "Idempotency-Key", message: "must be 1 to 200 printable ASCII characters" }]);
  }
  return header;
}
