import { initializeAtStart } from "../../db/connect-at-start";
import type { Command } from "commander";
import type * as DataMapLoad from "../../datamap/load";
import type * as DataSourceModule from "../../db/data-source";
import type * as LoggerModule from "../../logger";
import type * as Runs from "../../retention/runs";
import type * as ServicesModule from "../../services";
import type { OpenServices } from "../../services";
import { configOrExit } from "../config-or-exit";

/** Run statuses after which a run changes no more. */
const FINAL = new Set(["completed", "failed"]);

/** `lethe sweep <policy> [--dry-run] [--wait]`: starts a run of a retention policy now, optionally waits for it. */
export function register(program: Command): void {
  program
    .command("sweep")
    .description("run a retention policy now (a worker executes it); prints the run")
    .argument("<policy>", "name of a retention policy of the data map")
    .option("--dry-run", "count what the run would change; change nothing", false)
    .option("--wait", "wait until the run completes or fails, then print it", false)
    .option("--timeout <seconds>", "give up waiting after this long", "3600")
    .action(async (policy: string, opts: { dryRun: boolean; wait: boolean; timeout: string }) => {
      const config = configOrExit();
      // Loaded when the command runs, so `lethe --help` stays fast.
      const { loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
      const { assertMigrated, createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { createLogger } = require("../../logger") as typeof LoggerModule;
      const { getRunView, RunInProgressError, triggerRun, UnknownPolicyError } = require("../../retention/runs") as typeof Runs;
      const { openServices } = require("../../services") as typeof ServicesModule;
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
      const logger = createLogger(config.logLevel);
      let services: OpenServices | undefined;
      try {
        await assertMigrated(ds);
        const dataMap = loadDataMap(config.dataMapPath);
        services = openServices(config, { ds, dataMap, logger }, { role: "worker", storePoolSize: 2 });
        let view = await triggerRun(
          {
            ...services,
            queue: services.queues.retention,
            onEnqueueError: (err) => logger.warn({ err }, "enqueue failed; a worker's reconciler will enqueue the run"),
          },
          policy,
          { dryRun: opts.dryRun, requestedBy: "cli" },
        );
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (opts.wait && !FINAL.has(view.status) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          view = (await getRunView(ds, view.id)) ?? view;
        }
        process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
        if (opts.wait && view.status !== "completed") process.exitCode = 1;
      } catch (err) {
        if (!(err instanceof UnknownPolicyError || err instanceof RunInProgressError)) throw err;
        process.stderr.write(`lethe sweep: ${err.message}\n`);
        process.exitCode = 1;
      } finally {
        await services?.close();
        await ds.destroy();
      }
    });
}
