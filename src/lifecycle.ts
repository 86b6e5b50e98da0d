import type { Logger } from "./logger";

/**
 * SIGINT/SIGTERM: run `shutdown` once (it bounds itself), then exit 0; a second signal exits at
 * once with 130. Used by the process entrypoints in `workers/`.
 */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
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
}
