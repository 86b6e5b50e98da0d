import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import { NotMigratedError } from "../../src/db/data-source";
import { startApi } from "../../workers/api";
import { TimeoutError } from "../../src/http/with-timeout";
import { createLogger } from "../../src/logger";
import { TEST_KEYS, testConfig } from "../helpers/config";
import { createScratchDb, migratedLetheDb, runSql, type ScratchDb } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { testDataMap } from "./harness";

const ROOT = resolve(__dirname, "..", "..");
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let db: ScratchDb;
let ds: DataSource;
let dir: string;

beforeAll(async () => {
  ({ db, ds } = await migratedLetheDb());
  dir = mkdtempSync(join(tmpdir(), "lethe-api-"));
});

afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Deletes every Redis key under `prefix` (the queues a started API created). */
async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url);
  try {
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length > 0) await r.del(...keys);
  } finally {
    await r.quit();
  }
}

describe("startApi", () => {
  it("listens on an ephemeral port, serves requests, and closes everything", async () => {
    const config = testConfig({ DATABASE_URL: db.url, PORT: "0" });
    const api = await startApi(config, { logger: createLogger("silent"), dataMap: testDataMap(), handleSignals: false });
    try {
      expect(api.address.port).toBeGreaterThan(0);
      expect(api.url).toBe(`http://127.0.0.1:${api.address.port}`);
      const health = await fetch(`${api.url}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(200);
      const submitted = await fetch(`${api.url}/v1/requests`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_KEYS.writer}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "erasure", subject: { id: "99" } }),
      });
      expect(submitted.status).toBe(202);
      const { id } = (await submitted.json()) as { id: string };
      const check = new Redis(config.redisUrl);
      try {
        expect(await check.exists(`${config.queuePrefix}:erasure:erasure-${id}`)).toBe(1);
      } finally {
        await check.quit();
      }
    } finally {
      await api.close();
      await api.close(); // idempotent
      await dropPrefix(config.redisUrl, config.queuePrefix);
    }
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });

  it("refuses to start on an unmigrated database, naming the fix", async () => {
    const empty = await createScratchDb("lethe_unmig");
    try {
      const config = testConfig({ DATABASE_URL: empty.url, PORT: "0" });
      const started = startApi(config, { logger: createLogger("silent"), dataMap: testDataMap(), handleSignals: false });
      await expect(started).rejects.toBeInstanceOf(NotMigratedError);
      await expect(started).rejects.toThrow(/lethe migrate/);
    } finally {
      await empty.drop();
    }
  });

  it("refuses to start when Redis does not answer, and releases what it opened", async () => {
    const config = testConfig({ DATABASE_URL: db.url, PORT: "0", REDIS_URL: "redis://127.0.0.1:1" });
    const before = await backendsOn(db.name);
    const t0 = Date.now();
    const started = startApi(config, { logger: createLogger("silent"), dataMap: testDataMap(), handleSignals: false, redisTimeoutMs: 500 });
    await expect(started).rejects.toBeInstanceOf(TimeoutError);
    await expect(started).rejects.toThrow(/REDIS_URL/);
    expect(Date.now() - t0).toBeLessThan(5000);
    // Backends exit asynchronously after the pool ends: wait (bounded) for them to be gone.
    const after = await waitFor(
      async () => {
        const n = await backendsOn(db.name);
        return n <= before ? n : undefined;
      },
      "the API's backends to end",
      5000,
      25,
    ).catch(() => backendsOn(db.name));
    expect(after).toBe(before);
  });
});

/** Number of server processes connected to database `name` (to see a DataSource closed). */
async function backendsOn(name: string): Promise<number> {
  const rows = (await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name])) as Array<{ n: number }>;
  return rows[0]!.n;
}

describe("lethe api", () => {
  function run(env: Record<string, string>): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "workers", "cli.ts"), "api"], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
  }

  function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
    return new Promise((done) => child.once("exit", (code) => done(code)));
  }

  it("serves until SIGTERM, then shuts down cleanly with exit code 0", async () => {
    // The API checks its data map at start (as the worker does), so the map names a real store.
    const app = await createScratchDb("lethe_api_app");
    await runSql(app.url, `CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL UNIQUE)`);
    const mapFile = join(dir, "lethe.config.json");
    writeFileSync(
      mapFile,
      JSON.stringify({
        version: 1,
        subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
        stores: { shop: { kind: "postgres", url: app.url, tables: { customers: { action: "delete", fields: { email: { category: "contact" } } } } } },
      }),
    );
    const prefix = `ltcli${process.pid}`;
    const child = run({
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_URL,
      LETHE_DATA_MAP: mapFile,
      LETHE_ENCRYPTION_KEY: "11".repeat(32),
      LETHE_HMAC_KEY: "22".repeat(32),
      LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write`,
      LETHE_QUEUE_PREFIX: prefix,
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
    });
    const exited = exitOf(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    try {
      const port = await new Promise<number>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no "api listening" line; output: ${out}`)), 30_000);
        child.stdout.on("data", () => {
          const line = out.split("\n").find((l) => l.includes('"api listening"'));
          if (line) {
            clearTimeout(timer);
            done((JSON.parse(line) as { address: { port: number } }).address.port);
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          fail(new Error(`exited early with ${code}`));
        });
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).toContain('"shutting down"');
      expect(out).toContain('"api stopped"');
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      await dropPrefix(REDIS_URL, prefix);
      await app.drop();
    }
  });

  it("prints the configuration problem and exits 1", async () => {
    const child = run({ LETHE_ENCRYPTION_KEY: "11".repeat(32), LETHE_HMAC_KEY: "22".repeat(32), LETHE_API_KEYS: "" });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    const code = await exitOf(child);
    expect(code).toBe(1);
    expect(err).toContain("LETHE_API_KEYS");
  });
});
