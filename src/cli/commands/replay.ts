import { Queue } from "bullmq";
import type { Command } from "commander";
import { loadDataMap } from "../../datamap/load";
import { assertMigrated, createDataSource } from "../../db/data-source";
import { erasedSubjectHashes, scanForErased } from "../../erasure/replay";
import { createLogger } from "../../logger";
import { StorePools } from "../../stores/postgres/pools";
import { StoreSet } from "../../stores/store-set";
import { createRedis } from "../../queues/connection";
import { QUEUES } from "../../queues/names";
import { submitRequest } from "../../requests/service";
import { configOrExit } from "../config-or-exit";
import { waitForFinal } from "../submit-and-wait";

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
      const dataMap = loadDataMap(config.dataMapPath);
      if (opts.store !== dataMap.subject.store)
        throw new Error(`replay walks the subject store "${dataMap.subject.store}"; other stores are erased by the requests it makes`);
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await ds.initialize();
      const logger = createLogger(config.logLevel);
      const pools = new StorePools(dataMap, 2);
      const stores = new StoreSet({ dataMap, config, pools, logger });
      const connection = createRedis(config.redisUrl, "worker");
      const erasureQueue = new Queue(QUEUES.erasure, { connection, prefix: config.queuePrefix });
      try {
        await assertMigrated(ds);
        const ledger = await erasedSubjectHashes(ds);
        const scan = await scanForErased(stores.adapter(opts.store), ledger, config.hmacKey);
        const ids: string[] = [];
        if (!opts.dryRun) {
          const ctx = { ds, config, dataMap, erasureQueue, logger };
          for (const key of scan.found) ids.push((await submitRequest(ctx, { type: "erasure", subject: { id: key }, requestedBy: "replay" })).request.id);
        }
        let completed = 0;
        if (opts.wait) {
          for (const id of ids) if ((await waitForFinal(ds, id, 10 * 60_000))?.status === "completed") completed++;
        }
        process.stdout.write(`${JSON.stringify({ scanned: scan.scanned, found: scan.found.length, requests: ids, ...(opts.wait ? { completed } : {}) })}\n`);
        if (opts.wait && completed !== ids.length) process.exitCode = 1;
      } finally {
        await erasureQueue.close();
        await connection.quit();
        await stores.close();
        await pools.close();
        await ds.destroy();
      }
    });
}
