import { Queue } from "bullmq";
import type { Command } from "commander";
import { loadDataMap } from "../../datamap/load";
import { assertMigrated, createDataSource } from "../../db/data-source";
import { createLogger } from "../../logger";
import { createRedis } from "../../queues/connection";
import { QUEUES } from "../../queues/names";
import { getRequestView, submitRequest } from "../../requests/service";
import { configOrExit } from "../config-or-exit";

/** Statuses after which a request changes no more. */
const FINAL = new Set(["completed", "failed"]);

/**
 * `lethe request export --subject <id>`: records an access/portability request; a worker builds
 * the zip and emails the subject a signed, expiring link. `--wait` waits until the mail is sent.
 */
export function registerExportRequest(request: Command): void {
  request
    .command("export")
    .description("export a subject's data (Art. 15/20): a zip, emailed to the subject as a signed, expiring link")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key (e.g. email)", "id")
    .option("--idempotency-key <key>", "the same key returns the same request")
    .option("--wait", "wait until the link is sent or the request fails, then print it", false)
    .option("--timeout <seconds>", "give up waiting after this long", "600")
    .action(async (opts: { subject: string; by: string; idempotencyKey?: string; wait: boolean; timeout: string }) => {
      const config = configOrExit();
      const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
      await ds.initialize();
      const connection = createRedis(config.redisUrl, "worker");
      const erasureQueue = new Queue(QUEUES.erasure, { connection, prefix: config.queuePrefix });
      const exportQueue = new Queue(QUEUES.export, { connection, prefix: config.queuePrefix });
      try {
        await assertMigrated(ds);
        const dataMap = loadDataMap(config.dataMapPath);
        const { request: r } = await submitRequest(
          { ds, config, dataMap, erasureQueue, exportQueue, logger: createLogger(config.logLevel) },
          { type: "export", subject: { [opts.by]: opts.subject }, requestedBy: "cli", ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) },
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
        await exportQueue.close();
        await erasureQueue.close();
        await connection.quit();
        await ds.destroy();
      }
    });
}
