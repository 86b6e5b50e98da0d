import type { Command } from "commander";
import { main } from "../../../workers/worker";
import { configOrExit } from "../config-or-exit";

/** `lethe worker`: runs the queues until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command("worker")
    .description("run Lethe's BullMQ workers (erasure, maintenance) until SIGINT/SIGTERM")
    .option("--queues <list>", "comma-separated queues to run (default: all)")
    .action(async (opts: { queues?: string }) => {
      configOrExit();
      await main(
        opts.queues
          ?.split(",")
          .map((q) => q.trim())
          .filter(Boolean),
      );
    });
}
