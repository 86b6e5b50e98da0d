import type { Logger } from "./logger";

/**
 * SIGINT/SIGTERM for a process entry point (`workers/`): the first signal runs `shutdown` once
 * and exits 0 (1 when it fails, or when `forceExitAfterMs` passes first); a second signal exits
 * at once with 130. Returns a function that removes the handlers.
 */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>, options: { forceExitAfterMs?: number } = {}): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    if (options.forceExitAfterMs !== undefined) {
      const timeoutMs = options.forceExitAfterMs;
      setTimeout(() => {
        logger.error({ timeoutMs }, "shutdown timed out: exiting");
        process.exit(1);
      }, timeoutMs).unref();
    }
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Runs a process entry point's `main`; a failure is printed as `lethe[ <name>]: <message>` and exits 1. */
export function runMain(name: string | undefined, main: () => Promise<unknown>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`lethe${name ? ` ${name}` : ""}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
