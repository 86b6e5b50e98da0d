import { initializeAtStart } from "../../db/connect-at-start";
import type { Command } from "commander";
import type * as LeftoverAudit from "../../audit/leftover-audit";
import type * as DataMapLoad from "../../datamap/load";
import type * as DataSourceModule from "../../db/data-source";
import type * as LoggerModule from "../../logger";
import type * as Pools from "../../stores/postgres/pools";
import type * as StoreSetModule from "../../stores/store-set";
import { configOrExit } from "../config-or-exit";

/**
 * `lethe audit-leftovers`: scans every mapped store for values whose keyed hash matches an erased
 * subject's identity in the erasure ledger; prints the report (table, column, count — never a
 * value) as JSON, records it in the audit log, and exits 1 when anything was found.
 */
export function register(program: Command): void {
  program
    .command("audit-leftovers")
    .description("find erased subjects' identities still present in any mapped store (names and counts only); exits 1 when found")
    .option("--batch <rows>", "rows per read", "5000")
    .option("--statement-timeout <ms>", "statement timeout of each read", "30000")
    .action(async (opts: { batch: string; statementTimeout: string }) => {
      const config = configOrExit();
      // Loaded when the command runs, so `lethe --help` stays fast.
      const { auditLeftovers, recordLeftoverAudit } = require("../../audit/leftover-audit") as typeof LeftoverAudit;
      const { loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
      const { assertMigrated, createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { createLogger } = require("../../logger") as typeof LoggerModule;
      const { StorePools } = require("../../stores/postgres/pools") as typeof Pools;
      const { StoreSet } = require("../../stores/store-set") as typeof StoreSetModule;
      const dataMap = loadDataMap(config.dataMapPath);
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
      const pools = new StorePools(dataMap, 2);
      const stores = new StoreSet({ dataMap, config, pools, logger: createLogger(config.logLevel), ds });
      try {
        await assertMigrated(ds);
        const report = await auditLeftovers(
          { ds, config, dataMap, stores },
          { batchSize: Number(opts.batch), statementTimeoutMs: Number(opts.statementTimeout) },
        );
        await recordLeftoverAudit(ds, report, "cli");
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (report.findings.length > 0) process.exitCode = 1;
      } finally {
        await stores.close();
        await pools.close();
        await ds.destroy();
      }
    });
}
