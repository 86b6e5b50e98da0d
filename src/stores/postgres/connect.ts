import { Client } from "pg";
import type { SqlConnection } from "../store-kind";

const CONNECT_TIMEOUT_MS = 10_000;

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

export { describeError } from "../../db/error-text";
