import { createServer } from "node:net";
import { Redis } from "ioredis";
import { Client } from "pg";

/**
 * The demo's throw-away resources: scratch databases it creates (and only those it drops),
 * its Redis keys (one queue prefix), and the list of things to undo at the end.
 */

/** Names a scratch database may have; nothing else is ever created or dropped. */
const SCRATCH_NAME = /^lethe_demo_[a-z]+_[0-9a-f]+$/;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function onServer<T>(serverUrl: string, fn: (db: Client) => Promise<T>): Promise<T> {
  const url = new URL(serverUrl);
  url.pathname = "/postgres";
  const db = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  try {
    await db.connect();
  } catch (err) {
    await db.end().catch(() => undefined);
    throw new Error(`Postgres at ${url.host} does not answer; start it or set LETHE_DEMO_PG_URL`, { cause: err });
  }
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** The URL of database `name` on the server `serverUrl` names. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates the empty database `name` (a `lethe_demo_<kind>_<hex>` name); fails when it exists. */
export async function createScratchDatabase(serverUrl: string, name: string): Promise<void> {
  if (!SCRATCH_NAME.test(name)) throw new RangeError(`refusing to create "${name}": not a demo scratch database name`);
  await onServer(serverUrl, (db) => db.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

/** Drops the scratch database `name`, closing whatever is still connected to it. */
export async function dropScratchDatabase(serverUrl: string, name: string): Promise<void> {
  if (!SCRATCH_NAME.test(name)) throw new RangeError(`refusing to drop "${name}": not a demo scratch database name`);
  await onServer(serverUrl, (db) => db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/** Fails fast, with a message naming the URL's host, when Redis does not answer (workers would wait for it forever). */
export async function pingRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const { hostname, port } = new URL(redisUrl);
    throw new Error(`Redis at ${hostname}:${port || 6379} does not answer; start it or set LETHE_DEMO_REDIS_URL`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

/** Deletes every Redis key under `<prefix>:` (SCAN + UNLINK); returns how many. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new RangeError("the queue prefix must be letters, digits, _ or - to be cleaned up");
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** A TCP port that was free a moment ago on `host`, so the API's public URL can be known before it starts. */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One thing to undo; `fn` may return a short line saying what it did. */
interface TearDownStep {
  name: string;
  fn: () => Promise<unknown>;
}

/**
 * What to undo at the end, run last-in first-out. Every step runs even when an earlier one
 * fails; running twice runs once. A step added while tear-down is under way runs at once.
 */
export class TearDownList {
  private readonly steps: TearDownStep[] = [];
  private running: Promise<{ done: string[]; failed: string[] }> | undefined;

  /** Adds a step (see the class comment). */
  add(name: string, fn: () => Promise<unknown>): void {
    if (this.running) {
      fn().catch(() => undefined);
      return;
    }
    this.steps.push({ name, fn });
  }

  /** True once {@link run} was called. */
  get isStarted(): boolean {
    return this.running !== undefined;
  }

  /** Names of the steps still to run (for a message when the process must exit early). */
  pending(): string[] {
    return this.steps.map((s) => s.name).reverse();
  }

  /** Runs every step; `done` holds what each reported, `failed` one line per failed step. */
  run(): Promise<{ done: string[]; failed: string[] }> {
    this.running ??= (async () => {
      const done: string[] = [];
      const failed: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          const said = await step.fn();
          done.push(typeof said === "string" ? said : step.name);
        } catch (err) {
          failed.push(`${step.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return { done, failed };
    })();
    return this.running;
  }
}
