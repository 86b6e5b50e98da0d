const CODE_TEXT: Readonly<Record<string, string>> = {
  "3D000": "the database does not exist",
  "28P01": "authentication failed",
  "28000": "authentication rejected",
  "57P03": "the server is starting up or shutting down",
  "53300": "too many connections",
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
};

/** The error's pg/Node code with a short description. Never the message: it may echo the URL. */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return "no error code";
  const text = CODE_TEXT[code];
  return text ? `${code}, ${text}` : code;
}
