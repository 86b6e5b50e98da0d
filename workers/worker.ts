import { loadConfig } from "../src/config";
import { onShutdownSignal } from "../src/lifecycle";
import { createLogger } from "../src/logger";
import { QUEUES } from "../src/queues/names";
import { startWorker } from "../src/worker/start-worker";

/** Process entrypoint of `lethe worker`: config → connections → workers → signals. */
export async function main(queues?: string[]): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const known = Object.keys(QUEUES);
  const bad = queues?.find((q) => !known.includes(q));
  if (bad) throw new Error(`unknown queue "${bad}" (known: ${known.join(", ")})`);
  const handle = await startWorker(config, {
    logger,
    ...(queues ? { queues: queues as Array<keyof typeof QUEUES> } : {}),
    lockDuration: config.lockDurationMs,
  });
  onShutdownSignal(logger, () => handle.close());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`lethe worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
