import { writeFile } from "node:fs/promises";
import type { Logger } from "./logger";

/** How often the worker proves it is alive (a container healthcheck reads the file's age). */
export const HEARTBEAT_EVERY_MS = 10_000;

/**
 * Writes the current time to `file` every `everyMs` while `check` (Postgres and Redis answer)
 * succeeds, so a healthcheck can tell a live worker from a hung one or one cut off from its
 * dependencies: the file stops being refreshed. Returns a function that stops it.
 */
export function startHeartbeat(file: string, check: () => Promise<unknown>, logger: Logger, everyMs = HEARTBEAT_EVERY_MS): () => void {
  let stopped = false;
  const beat = async (): Promise<void> => {
    try {
      await check();
      if (!stopped) await writeFile(file, `${new Date().toISOString()}\n`);
    } catch (err) {
      logger.warn({ err }, "heartbeat skipped: a dependency did not answer");
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
