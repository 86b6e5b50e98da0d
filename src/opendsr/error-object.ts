import { PROBLEM_TYPES, type FieldError } from "../http/problem";
import type { ErrorDetail } from "./protocol";

/**
 * OpenDSR errors (§7.5–7.6) as Lethe sends them: one body that is both an RFC 9457 problem
 * (`type`, `title`, `status`, `detail`, `instance`) and the spec's error object
 * (`error: { code, message, errors: [{ domain, reason, message }] }`). Messages name fields and
 * rules, never identity values.
 */

/** An OpenDSR error a route throws; the plugin's error handler sends it. */
export class OpenDsrError extends Error {
  override readonly name = "OpenDsrError";
  constructor(
    readonly status: number,
    message: string,
    readonly errors: ErrorDetail[] = [{ domain: "Validation", reason: "IllegalArgumentException", message }],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A 400 listing field errors (`domain: "Validation"`). */
export function validationError(fields: FieldError[]): OpenDsrError {
  const message =
    fields.length === 1 ? `${fields[0]!.field}: ${fields[0]!.message}` : `${fields.length} fields are invalid: ${fields.map((f) => f.field).join(", ")}`;
  return new OpenDsrError(
    400,
    message,
    fields.map((f) => ({ domain: "Validation", reason: "IllegalArgumentException", message: `${f.field}: ${f.message}` })),
  );
}

/** A 404 for an unknown (or another controller's) `subject_request_id`. */
export function unknownRequest(): OpenDsrError {
  return new OpenDsrError(404, "no request of this controller has this subject_request_id", [
    { domain: "Request", reason: "NotFound", message: "no request of this controller has this subject_request_id" },
  ]);
}

const TITLES: Record<number, [string, string]> = {
  400: ["Invalid request", PROBLEM_TYPES.invalidRequest],
  401: ["Unauthorized", PROBLEM_TYPES.unauthorized],
  403: ["Forbidden", PROBLEM_TYPES.forbidden],
  404: ["Not found", PROBLEM_TYPES.notFound],
  413: ["Body too large", PROBLEM_TYPES.bodyTooLarge],
  415: ["Unsupported media type", PROBLEM_TYPES.unsupportedMediaType],
  503: ["Service unavailable", PROBLEM_TYPES.unavailable],
};

/** The body of an OpenDSR error: problem members and the spec's `error` object. */
export function errorBody(status: number, message: string, errors: ErrorDetail[], instance: string): Record<string, unknown> {
  const [title, type] = TITLES[status] ?? (status >= 500 ? ["Internal error", PROBLEM_TYPES.internal] : ["Invalid request", PROBLEM_TYPES.invalidRequest]);
  return { type, title, status, detail: message, instance, error: { code: status, message, errors } };
}
