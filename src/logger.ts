import pino, { type Logger } from "pino";

/**
 * Paths pino censors: a second line of defence; Lethe's own code logs ids and counts only.
 */
export const REDACT_PATHS = [
  "subject",
  "*.subject",
  "identities",
  "*.identities",
  "email",
  "*.email",
  "req.headers.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "body",
  "*.body",
  "values",
  "*.values",
  "params",
  "*.params",
];

/** Creates the process logger (JSON to stdout unless `destination` is given). */
export function createLogger(level = "info", destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: "lethe" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: safeErrorSerializer },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Serializes errors without driver details: pg errors carry `detail` and `where`, which can
 * quote row values (e.g. "Key (email)=(x@y) already exists").
 */
export function safeErrorSerializer(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown };
  return { type: e.name, message: e.message, code: typeof e.code === "string" ? e.code : undefined };
}

export type { Logger };
