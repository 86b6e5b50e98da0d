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
    const hole = await muteRedis();
    const hungRedis = createRedis(`redis://127.0.0.1:${hole.port}`, "producer");
    hungRedis.on("error", () => undefined);
    const app = await buildServer({ ds: readyDs, config: h.config, dataMap: h.dataMap, queues: h.queues, redis: hungRedis, logger: createLogger("silent") });
    try {
      const res = await app.inject({ method: "GET", url: "/readyz" });
      const problem = expectProblem(res, 503);
      expect(problem.checks).toEqual({ postgres: "ok", migrations: "ok", redis: "failed" });
      expect(problem.detail).toBe("not ready: redis failed");
      expect(res.body).not.toContain(String(hole.port));
    } finally {
      await app.close();
      // Disconnecting a connection whose ready check is pending leaves ioredis with a 2 s timer
      // (the check fails after the close and disconnects again); so the peer answers at last,
      // the connection becomes ready and quits cleanly.
      const ready = new Promise((resolve) => hungRedis.once("ready", resolve));
      hole.speak();
      await ready;
      await hungRedis.quit();
      await hole.close();
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

/**
 * A TCP peer on 127.0.0.1 that accepts and stays silent until `speak()`; from then on it answers
 * like a Redis server just enough for a client to become ready and quit: INFO with `loading:0`,
 * QUIT with +OK (and a close), anything else with +OK.
 */
async function muteRedis(): Promise<{ port: number; speak(): void; close(): Promise<void> }> {
  let speaking = false;
  const peers = new Map<Socket, string>();
  const answer = (s: Socket): void => {
    let buf = peers.get(s) ?? "";
    for (;;) {
      const args = /^\*(\d+)\r\n/.exec(buf);
      if (!args) break;
      let at = args[0].length;
      const parts: string[] = [];
      for (let i = 0; i < Number(args[1]); i++) {
        const len = /^\$(\d+)\r\n/.exec(buf.slice(at));
        if (!len || buf.length < at + len[0].length + Number(len[1]) + 2) return void peers.set(s, buf);
        at += len[0].length;
        parts.push(buf.slice(at, at + Number(len[1])));
        at += Number(len[1]) + 2;
      }
      buf = buf.slice(at);
      if (s.writableEnded) continue;
      const name = parts[0]?.toLowerCase();
      if (name === "info") {
        const body = "# Server\r\nredis_version:7.0.0\r\nloading:0\r\n";
        s.write(`$${body.length}\r\n${body}\r\n`);
      } else {
        s.write("+OK\r\n");
        if (name === "quit") s.end();
      }
    }
    peers.set(s, buf);
  };
  const server = createServer((s) => {
    peers.set(s, "");
    s.on("error", () => undefined);
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      peers.set(s, (peers.get(s) ?? "") + d);
      if (speaking) answer(s);
    });
    s.on("close", () => peers.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    speak() {
      speaking = true;
      for (const s of peers.keys()) answer(s);
    },
    async close() {
      for (const s of peers.keys()) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
