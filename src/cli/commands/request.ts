import { Queue } from "bullmq";
import type { Command } from "commander";
import { loadDataMap } from "../../datamap/load";
import { assertMigrated, createDataSource } from "../../db/data-source";
import { createLogger } from "../../logger";
import { createRedis } from "../../queues/connection";
import { QUEUES } from "../../queues/names";
import { getRequestView, submitRequest } from "../../requests/service";
import { configOrExit } from "../config-or-exit";
import { registerExportRequest } from "./request-export";

/** Statuses after which a request changes no more. */
const FINAL = new Set(["completed", "failed"]);

/** `lethe request erasure --subject <id>`: records and enqueues a request, optionally waits for it. */
export function register(program: Command): void {
  const request = program.command("request").description("make a data-subject request");
  registerExportRequest(request);
  request
    .command("erasure")
    .description("erase a subject from every store of the data map")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key (e.g. email)", "id")
    .option("--dry-run", "preview: counts per table, nothing changed", false)
    .option("--idempotency-key <key>", "the same key returns the same request")
    .option("--wait", "wait until the request completes or fails, then print it", false)
    .option("--timeout <seconds>", "give up waiting after this long", "300")
    .action(async (opts: { subject: string; by: string; dryRun: boolean; idempotencyKey?: string; wait: boolean; timeout: string }) => {
      const config = configOrExit();
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await ds.initialize();
      const connection = createRedis(config.redisUrl, "worker");
      const erasureQueue = new Queue(QUEUES.erasure, { connection, prefix: config.queuePrefix });
      try {
        await assertMigrated(ds);
        const dataMap = loadDataMap(config.dataMapPath);
        const { request: r } = await submitRequest(
          { ds, config, dataMap, erasureQueue, logger: createLogger(config.logLevel) },
          { type: "erasure", subject: { [opts.by]: opts.subject }, dryRun: opts.dryRun, requestedBy: "cli", ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) },
        );
        let view = await getRequestView(ds, r.id);
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (opts.wait && view && !FINAL.has(view.status) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          view = await getRequestView(ds, r.id);
        }
        process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
        if (opts.wait && view?.status !== "completed") process.exitCode = 1;
      } finally {
        await erasureQueue.close();
        await connection.quit();
        await ds.destroy();
      }
    });
}
