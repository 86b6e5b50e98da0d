import type { DataSource } from "typeorm";
import { describeError } from "./error-text";

/** How long a process waits at start-up for Postgres and Redis before it gives up. (Default: 10000 ms) */
export const START_WAIT_MS = 10_000;

/** A dependency a process cannot reach at start-up; the message is one line naming the variable, never its secret. */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/** `host:port/database` of a connection URL, without user or password. */
export function whereOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith("redis") ? "6379" : "5432")}${u.pathname && u.pathname !== "/" ? u.pathname : ""}`;
  } catch {
    return "(unparsable URL)";
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects Lethe's DataSource, retrying for `waitMs` while Postgres refuses or is starting; then
 * throws a {@link StartupError} naming DATABASE_URL. A database that does not exist or refused
 * the login fails at once (waiting cannot fix it).
 */
export async function initializeAtStart(ds: DataSource, url: string, waitMs = START_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await ds.initialize();
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const permanent = code === "3D000" || code === "28P01" || code === "28000";
      if (permanent || Date.now() >= deadline) {
        const hint = code === "3D000" ? "; run `lethe migrate`, which creates it" : "";
        throw new StartupError(`cannot reach Lethe's database at DATABASE_URL (${whereOf(url)}): ${describeError(err)}${hint}`, { cause: err });
      }
      await sleep(500);
    }
  }
}
