import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import { Client } from "pg";
import { seedShop } from "../../demo/seed";
import { loadConfig } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import { createDataSource } from "../../src/db/data-source";
import { createLogger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import { spawnTs, stopChild, type TsChild } from "../helpers/child-process";
import { SHOP_MAP } from "../helpers/data-maps";
import { testEnv } from "../helpers/harness";
import { submitErasure } from "../helpers/requests";
import { startScratchCluster, type ScratchCluster } from "../helpers/scratch-cluster";
import { waitFor } from "../helpers/wait";

/**
 * Issue #10: restarting Postgres (`-m fast`: every connection terminated with 57P01) while
 * erasures ran made `lethe worker` exit on an unhandled `error` event, leaving requests queued
 * and running until someone restarted it. Here a Postgres of the test's own (Lethe's database and
 * the shop's) restarts mid-run under a `lethe worker` child process: the worker never exits and
 * every request completes.
 */
jest.setTimeout(240_000);

const REQUESTS = 60;

describe("a Postgres restart while erasures run", () => {
  let cluster: ScratchCluster;
  let worker: TsChild | undefined;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    cluster = await startScratchCluster();
  });

  afterAll(async () => {
    if (worker) await stopChild(worker);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await cluster?.destroy();
  });

  it("keeps the worker running and completes every request", async () => {
    const admin = new Client({ connectionString: cluster.url("postgres") });
    await admin.connect();
    await admin.query("CREATE DATABASE lethe");
    await admin.query("CREATE DATABASE shop");
    await admin.end();
    await seedShop(cluster.url("shop"), { customers: REQUESTS + 10 });

    const env = { ...testEnv(cluster.url("lethe")), SHOP_DATABASE_URL: cluster.url("shop"), LETHE_DATA_MAP: SHOP_MAP.path, LOG_LEVEL: "info" };
    const config = loadConfig(env);
    const ds = createDataSource(config.databaseUrl);
    await ds.initialize();
    closers.push(() => ds.destroy());
    await ds.runMigrations({ transaction: "each" });
    const dataMap = parseDataMap(JSON.parse(readFileSync(SHOP_MAP.path, "utf8")), SHOP_MAP.path, env);
    const redis = createRedis(config.redisUrl, "worker");
    closers.push(async () => {
      const keys = await redis.keys(`${config.queuePrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const erasureQueue = new Queue(QUEUES.erasure, { connection: redis, prefix: config.queuePrefix });
    closers.push(() => erasureQueue.close());

    worker = spawnTs("workers/cli.ts", ["worker", "--queues", "erasure,maintenance"], env);
    const w = worker;
    await waitFor(async () => (w.stdout().includes('"worker started"') ? true : undefined), "the worker to start", 60_000, 100);

    const ids: string[] = [];
    const deps = { ds, config, dataMap, erasureQueue, logger: createLogger("silent") };
    for (let id = 1; id <= REQUESTS; id++) ids.push((await submitErasure(deps, { id: String(id) })).request.id);

    const countDone = async (): Promise<number> => {
      try {
        const rows = (await ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request WHERE status = 'completed' AND id = ANY($1::uuid[])`, [
          ids,
        ])) as Array<{
          n: number;
        }>;
        return rows[0]!.n;
      } catch {
        return -1; // Postgres is restarting
      }
    };
    // Restart while the run is under way: some done, most not.
    await waitFor(async () => ((await countDone()) >= 3 ? true : undefined), "the first erasures to complete", 60_000, 50);
    const before = await countDone();
    await cluster.restart();

    const done = await waitFor(
      async () => ((await countDone()) === REQUESTS ? REQUESTS : undefined),
      "every erasure to complete after the restart",
      120_000,
      250,
    ).catch(async (err: unknown) => {
      const states = (await ds.query(`SELECT status, error_code, count(*)::int AS n FROM lethe.subject_request GROUP BY 1, 2`)) as unknown[];
      const lines = w
        .stdout()
        .split("\n")
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(-8);
      throw new Error(
        `${String(err)}; worker exit ${w.proc.exitCode}; states ${JSON.stringify(states)}; stderr ${w.stderr().slice(0, 2500)}; warnings ${lines.join("\n")}`,
      );
    });
    expect(before).toBeLessThan(REQUESTS);
    expect(done).toBe(REQUESTS);
    expect(w.proc.exitCode).toBeNull();
    expect(w.proc.signalCode).toBeNull();
    const failed = (await ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request WHERE status = 'failed'`)) as Array<{ n: number }>;
    expect(failed[0]!.n).toBe(0);
    process.stdout.write(`postgres-restart: ${before} of ${REQUESTS} completed at the restart; all ${REQUESTS} completed after it; the worker kept running\n`);
  });
});
