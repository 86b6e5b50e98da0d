import { initializeAtStart } from "../../db/connect-at-start";
import type { Command } from "commander";
import type * as DataSourceModule from "../../db/data-source";
import type * as RequestService from "../../requests/service";
import { configOrExit } from "../config-or-exit";

/** `lethe status <id>`: prints a request (status, steps, error) as JSON. */
export function register(program: Command): void {
  program
    .command("status")
    .description("show a request: status, due date, steps, error")
    .argument("<id>", "request id")
    .action(async (id: string) => {
      const config = configOrExit();
      const { createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { getRequestView } = require("../../requests/service") as typeof RequestService;
      const ds = createDataSource(config.databaseUrl, { poolSize: 1 });
      await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
      try {
        const view = await getRequestView(ds, id);
        if (!view) {
          process.stderr.write(`lethe: no request ${id}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      } finally {
        await ds.destroy();
      }
    });
}
