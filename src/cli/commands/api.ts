import type { Command } from "commander";

/** `lethe api`: the HTTP API (requests, exports, holds, callbacks, health, metrics, dashboard) until SIGINT/SIGTERM. */
export function register(program: Command, run: () => Promise<void>): void {
  program
    .command("api")
    .description("serve the HTTP API: /v1/requests, /healthz, /readyz and the dashboard under /admin/queues")
    .action(async () => {
      await run();
    });
}
