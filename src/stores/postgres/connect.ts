import { Client } from "pg";
import type { SqlConnection } from "../store-kind";

const CONNECT_TIMEOUT_MS = 10_000;

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

/** Opens one connection to a store URL (10 s connect timeout); the caller ends it. */
export async function connectStore(url: string): Promise<SqlConnection> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** The error's pg/Node code with a short description. Never the message: it may echo the URL. */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return "no error code";
  const text = CODE_TEXT[code];
  return text ? `${code}, ${text}` : code;
}
