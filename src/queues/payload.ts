import type { z } from "zod";
import { ERROR_CODES, PermanentError } from "../errors";

/** Parses a job payload with its schema; a payload that does not match is never retried. */
export function parsePayload<T>(schema: z.ZodType<T>, data: unknown, job: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new PermanentError(ERROR_CODES.badPayload, `${job}: payload does not match its schema`);
  return parsed.data;
}
