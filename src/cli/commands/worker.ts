import type { Command } from "commander";

/** `lethe worker`: runs the queues until SIGINT/SIGTERM. */
export function register(program: Command, run: (queues?: string[]) => Promise<void>): void {
  program
    .command("worker")
    .description("run Lethe's BullMQ workers (erasure, maintenance, export, mail, retention) until SIGINT/SIGTERM")
    .option("--queues <list>", "comma-separated queues to run (default: all)")
    .action(async (opts: { queues?: string }) => {
      await run(
        opts.queues
          ?.split(",")
          .map((q) => q.trim())
          .filter(Boolean),
      );
    });
}
