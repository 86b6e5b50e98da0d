import { createServer, type AddressInfo, type Socket } from "node:net";
import type { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";
import { buildServer } from "../../src/http/server";
import { createLogger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { TEST_KEYS } from "../helpers/config";
import { createScratchDb, migratedLetheDb, type ScratchDb } from "../helpers/db";
import { bearer, expectProblem, startHarness, type Harness } from "./harness";

describe("health on a migrated database", () => {
  let db: ScratchDb;
  let ds: DataSource;
  let h: Harness;

  beforeAll(async () => {
    ({ db, ds } = await migratedLetheDb());
    h = await startHarness(ds);
  });

  afterAll(async () => {
    await h?.close();
    await ds?.destroy();
    await db?.drop();
  });

  it("/healthz answers without a key", async () => {
    const res = await h.app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("/readyz is 200 when Postgres, migrations and Redis are fine", async () => {
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", checks: { postgres: "ok", migrations: "ok", redis: "ok" } });
  });
});

describe("health on an unmigrated database", () => {
  let db: ScratchDb;
  let ds: DataSource;
  let h: Harness;

  beforeAll(async () => {
    db = await createScratchDb("lethe_unmigrated");
    ds = createDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
    h = await startHarness(ds);
  });

  afterAll(async () => {
    await h?.close();
    await ds?.destroy();
    await db?.drop();
  });

  it("/readyz is 503 naming the migrations, and changes nothing in the database", async () => {
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    const problem = expectProblem(res, 503);
    expect(problem.checks).toEqual({ postgres: "ok", migrations: "pending", redis: "ok" });
    expect(problem.detail).toBe("not ready: migrations pending");
    expect(problem.detail).not.toContain("postgres://");
    const tables = (await ds.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)) as Array<{
      n: number;
    }>;
    expect(tables[0]!.n).toBe(0);
  });

  it("/healthz still answers: the process is alive", async () => {
    expect((await h.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });

  it("a real server error is a 500 problem with a generic detail", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: bearer(TEST_KEYS.writer),
      payload: { type: "erasure", subject: { email: "five-hundred@example.org" } },
    });
    const problem = expectProblem(res, 500);
    expect(problem.detail).toBe("the request failed on the server; it has been logged");
    expect(res.body).not.toMatch(/relation|subject_request|five-hundred|stack/i);
  });
});

describe("health when dependencies are gone", () => {
  let db: ScratchDb;
  let ds: DataSource;
  let h: Harness;

  let readyDs: DataSource;

  beforeAll(async () => {
    ({ db, ds } = await migratedLetheDb());
    readyDs = createDataSource(db.url, { poolSize: 2 });
    await readyDs.initialize();
    h = await startHarness(ds);
  });

  afterAll(async () => {
    await h?.close();
    if (ds?.isInitialized) await ds.destroy();
    await readyDs?.destroy();
    await db?.drop();
  });

  it("/readyz is 503 naming Postgres when the DataSource is closed", async () => {
    await ds.destroy();
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    const problem = expectProblem(res, 503);
    expect(problem.checks).toEqual({ postgres: "failed", migrations: "skipped", redis: "ok" });
  });

  it("/readyz is 503 naming Redis when Redis does not answer", async () => {
    // A TCP peer that accepts and never replies: the connection never becomes ready.
    const sockets = new Set<Socket>();
    const blackHole = createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const { port } = blackHole.address() as AddressInfo;
    const hungRedis = createRedis(`redis://127.0.0.1:${port}`, "producer");
    hungRedis.on("error", () => undefined);
    const app = await buildServer({ ds: readyDs, config: h.config, dataMap: h.dataMap, queues: h.queues, redis: hungRedis, logger: createLogger("silent") });
    try {
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const problem = expectProblem(res, 503);
      expect(problem.checks).toEqual({ postgres: "ok", migrations: "ok", redis: "failed" });
      expect(problem.detail).toBe("not ready: redis failed");
      expect(res.body).not.toContain(String(port));
    } finally {
      await app.close();
      hungRedis.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
      // ioredis arms a 2 s disconnect timer when a never-ready connection fails its pending
      // ready check; it is cleared by nothing, so let it run out before the suite ends.
      await new Promise((resolve) => setTimeout(resolve, 2100));
    }
  });

  it("/readyz is 503 naming Redis when the producer connection is closed", async () => {
    const closedRedis = createRedis(h.config.redisUrl, "producer");
    await closedRedis.ping().catch(() => new Promise((resolve) => closedRedis.once("ready", resolve)));
    await closedRedis.quit();
    const app = await buildServer({ ds: readyDs, config: h.config, dataMap: h.dataMap, queues: h.queues, redis: closedRedis, logger: createLogger("silent") });
    try {
      const problem = expectProblem(await app.inject({ method: "GET", url: "/readyz" }), 503);
      expect(problem.checks).toEqual({ postgres: "ok", migrations: "ok", redis: "failed" });
    } finally {
      await app.close();
    }
  });
});
