import type { Command } from "commander";
import { ConfigError, loadConfig, type Config } from "../../config";
import { startApi } from "../../http/start-api";

/** Reads the configuration, or prints what is wrong with it and exits 1. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`lethe api: ${err.message}\n`);
    return process.exit(1);
  }
}

/** `lethe api`: the HTTP API (enqueue and status, health, dashboard) until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command("api")
    .description("serve the HTTP API: /v1/requests, /healthz, /readyz and the dashboard under /admin/queues")
    .action(async () => {
      await startApi(configOrExit());
    });
}
