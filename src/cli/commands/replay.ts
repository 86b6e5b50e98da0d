import { initializeAtStart } from "../../db/connect-at-start";
import type { Command } from "commander";
import type * as Fingerprint from "../../datamap/fingerprint";
import type * as DataMapLoad from "../../datamap/load";
import type * as DataSourceModule from "../../db/data-source";
import type * as AuditLog from "../../db/tables/audit-log";
import type * as Replay from "../../erasure/replay";
import type * as LoggerModule from "../../logger";
import type * as RequestService from "../../requests/service";
import type * as ServicesModule from "../../services";
import { configOrExit } from "../config-or-exit";
import type * as SubmitAndWait from "../submit-and-wait";

/**
 * `lethe replay --store <name>`: after a backup restore, finds subjects the erasure ledger says
 * were erased and erases them again (new erasure requests through the queue).
 */
export function register(program: Command): void {
  program
    .command("replay")
    .description("after restoring a backup: find subjects the erasure ledger says were erased, and erase them again")
    .requiredOption("--store <name>", "the restored store (the subject's postgres store)")
    .option("--dry-run", "only report how many erased subjects are back", false)
    .option("--wait", "wait until the new erasures complete", false)
    .action(async (opts: { store: string; dryRun: boolean; wait: boolean }) => {
      const config = configOrExit();
      // Loaded when the command runs, so `lethe --help` stays fast.
      const { loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
      const { assertMigrated, createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { erasedSubjectHashes } = require("../../db/tables/audit-log") as typeof AuditLog;
      const { scanForErased } = require("../../erasure/replay") as typeof Replay;
      const { createLogger } = require("../../logger") as typeof LoggerModule;
      const { submitRequest } = require("../../requests/service") as typeof RequestService;
      const { openServices } = require("../../services") as typeof ServicesModule;
      const { waitForFinal } = require("../submit-and-wait") as typeof SubmitAndWait;
      const { mapFingerprint } = require("../../datamap/fingerprint") as typeof Fingerprint;
      const dataMap = loadDataMap(config.dataMapPath);
      if (opts.store !== dataMap.subject.store)
        throw new Error(`replay walks the subject store "${dataMap.subject.store}"; other stores are erased by the requests it makes`);
      const fingerprint = await mapFingerprint(dataMap);
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
      const services = openServices(
        config,
        { ds, dataMap, logger: createLogger(config.logLevel), mapFingerprint: fingerprint },
        { role: "worker", storePoolSize: 2 },
      );
      try {
        await assertMigrated(ds);
        const ledger = await erasedSubjectHashes(ds);
        const scan = await scanForErased(services.stores.adapter(opts.store), ledger, config.hmacKey, 5000, dataMap.subject);
        const ids: string[] = [];
        if (!opts.dryRun) {
          for (const key of scan.found) ids.push((await submitRequest(services, { type: "erasure", subject: { id: key }, requestedBy: "replay" })).request.id);
        }
        let completed = 0;
        if (opts.wait) {
          for (const id of ids) if ((await waitForFinal(ds, id, 10 * 60_000))?.status === "completed") completed++;
        }
        process.stdout.write(`${JSON.stringify({ scanned: scan.scanned, found: scan.found.length, requests: ids, ...(opts.wait ? { completed } : {}) })}\n`);
        if (opts.wait && completed !== ids.length) process.exitCode = 1;
      } finally {
        await services.close();
        await ds.destroy();
      }
    });
}
