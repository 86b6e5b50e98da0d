/** One offending input of a 400, as the API names it (`subject.email`, `Idempotency-Key`). */
export interface ProblemFieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem as the API sends it (`application/problem+json`). */
export interface Problem {
  /** Stable identifier to switch on, e.g. `urn:lethe:problem:not-found`. */
  type: string;
  title: string;
  status: number;
  /** What went wrong and what to do; names no personal data. */
  detail: string;
  /** The request path. */
  instance?: string;
  /** Every offending field of a 400. */
  errors?: ProblemFieldError[];
  /** Extension members, e.g. `activeRunId` of a retention 409. */
  [extension: string]: unknown;
}

/** The API answered with an error status. `problem` is its body (synthesized when the body was not a problem). */
export class LetheApiError extends Error {
  override readonly name = "LetheApiError";
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title} (${status}): ${problem.detail}`);
  }

  /** The problem's `type`, e.g. `urn:lethe:problem:idempotency-key-reused`. */
  get type(): string {
    return this.problem.type;
  }
}

/** {@link LetheClient.waitUntilDone} (or a retention wait) gave up before the work finished. */
export class LetheTimeoutError extends Error {
  override readonly name = "LetheTimeoutError";
  constructor(
    readonly id: string,
    readonly lastStatus: string,
    readonly timeoutMs: number,
  ) {
    super(`${id} was still ${lastStatus} after ${timeoutMs} ms`);
  }
}
