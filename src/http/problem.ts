import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isTransient, RequestInputError } from "../errors";

/**
 * Problem types of the API (RFC 9457 `type`): stable identifiers a client can switch on. They
 * are URNs, not links; `title` and `detail` say what to do.
 */
export const PROBLEM_TYPES = {
  invalidRequest: "urn:lethe:problem:invalid-request",
  unauthorized: "urn:lethe:problem:unauthorized",
  forbidden: "urn:lethe:problem:forbidden",
  notFound: "urn:lethe:problem:not-found",
  methodNotAllowed: "urn:lethe:problem:method-not-allowed",
  idempotencyKeyReused: "urn:lethe:problem:idempotency-key-reused",
  bodyTooLarge: "urn:lethe:problem:body-too-large",
  unsupportedMediaType: "urn:lethe:problem:unsupported-media-type",
  notReady: "urn:lethe:problem:not-ready",
  unavailable: "urn:lethe:problem:unavailable",
  internal: "urn:lethe:problem:internal",
} as const;

/** The media type of every error response. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One offending input of a 400: its path (`subject.phone`, `Idempotency-Key`) and the rule. */
export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem as a handler describes it; extension members (e.g. `errors`) sit beside the standard ones. */
export interface ProblemInit {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** The body sent: the problem plus `instance`, the request path it occurred on (no query string). */
export interface ProblemBody extends ProblemInit {
  instance: string;
}

/**
 * An HTTP error a handler throws; the error handler turns it into problem+json. `detail` must
 * name no personal data (it is sent to the caller and may be logged by proxies).
 */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string>;
  constructor(
    readonly problem: ProblemInit,
    headers: Record<string, string> = {},
  ) {
    super(problem.detail);
    this.headers = headers;
  }
}

/** A 400 listing every offending field. */
export function invalidRequest(errors: FieldError[]): HttpProblem {
  const detail =
    errors.length === 1 ? `${errors[0]!.field}: ${errors[0]!.message}` : `${errors.length} fields are invalid: ${errors.map((e) => e.field).join(", ")}`;
  return new HttpProblem({ type: PROBLEM_TYPES.invalidRequest, title: "Invalid request", status: 400, detail, errors });
}

/** A 404 with a detail the caller can act on. */
export function notFound(detail: string): HttpProblem {
  return new HttpProblem({ type: PROBLEM_TYPES.notFound, title: "Not found", status: 404, detail });
}

/** The path of a request without its query string (the `instance` member). */
export function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Sends a problem at once. Hooks use this rather than throwing, so a problem raised inside a
 * plugin with its own error handler (the dashboard) still comes out as problem+json.
 */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemInit, headers: Record<string, string> = {}): FastifyReply {
  const body: ProblemBody = { ...problem, instance: pathOf(request) };
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** Problems for Fastify's own 4xx errors, by code; details never echo the request body. */
function fastifyProblem(err: FastifyError, bodyLimit: number): ProblemInit | null {
  const status = err.statusCode;
  if (status === undefined || status < 400 || status > 499) return null;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { type: PROBLEM_TYPES.bodyTooLarge, title: "Body too large", status: 413, detail: `the request body exceeds ${bodyLimit} bytes` };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        type: PROBLEM_TYPES.unsupportedMediaType,
        title: "Unsupported media type",
        status: 415,
        detail: "send the body as application/json",
      };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return {
        type: PROBLEM_TYPES.invalidRequest,
        title: "Invalid request",
        status: 400,
        detail: "the request body is not valid JSON",
        errors: [{ field: "body", message: "must be a JSON object" }],
      };
    default:
      // Fastify's other client errors (bad content-length, bad URL, ...) name no request data.
      return {
        type: status === 405 ? PROBLEM_TYPES.methodNotAllowed : PROBLEM_TYPES.invalidRequest,
        title: status === 405 ? "Method not allowed" : "Invalid request",
        status,
        detail: typeof err.code === "string" && err.code.startsWith("FST_") ? err.message : "the request cannot be processed",
      };
  }
}

/** Maps any error a route throws to a problem; `null` means an internal error. */
export function problemOf(err: unknown, bodyLimit: number): { problem: ProblemInit; headers: Record<string, string> } | null {
  if (err instanceof HttpProblem) return { problem: err.problem, headers: err.headers };
  if (err instanceof RequestInputError) return { problem: invalidRequest([{ field: err.field, message: err.message }]).problem, headers: {} };
  if (err instanceof Error && "statusCode" in err) {
    const p = fastifyProblem(err as FastifyError, bodyLimit);
    if (p) return { problem: p, headers: {} };
  }
  if (isTransient(err)) {
    return {
      problem: { type: PROBLEM_TYPES.unavailable, title: "Service unavailable", status: 503, detail: "a dependency is temporarily unavailable; retry later" },
      headers: { "retry-after": "5" },
    };
  }
  return null;
}

/**
 * Installs the error and not-found handlers so every error is problem+json: bad input is a 4xx
 * naming the rule, never a 500; a real 500 says nothing about internals (it is logged instead).
 */
export function installProblemHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    const mapped = problemOf(err, bodyLimit);
    if (mapped) {
      if (mapped.problem.status >= 500) request.log.warn({ err }, "dependency unavailable");
      return sendProblem(request, reply, mapped.problem, mapped.headers);
    }
    request.log.error({ err }, "request failed");
    return sendProblem(request, reply, {
      type: PROBLEM_TYPES.internal,
      title: "Internal error",
      status: 500,
      detail: "the request failed on the server; it has been logged",
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: PROBLEM_TYPES.notFound,
      title: "Not found",
      status: 404,
      detail: `no route matches ${request.method} ${pathOf(request)}`,
    }),
  );
}
