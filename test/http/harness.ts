import { Queue } from "bullmq";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Redis } from "ioredis";
import type pino from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import { buildServer } from "../../src/http/server";
import { testConfig } from "../helpers/config";
import { migratedLetheDb, type ScratchDb } from "../helpers/db";

/** The small data map the HTTP tests use: customers by id or email. */
export function testDataMap(): DataMap {
  return parseDataMap({
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: { shop: { kind: "postgres", url: "postgres://unused", tables: { customers: { action: "delete", fields: {} } } } },
  });
}

/** A built (not listening) API with real queues on a random prefix. */
export interface Harness {
  app: FastifyInstance;
  config: Config;
  dataMap: DataMap;
  queues: { erasure: Queue; maintenance: Queue };
  redis: Redis;
  /** Closes the app, obliterates the test's queues, deletes any key left under the prefix, quits Redis. */
  close(): Promise<void>;
}

/** Builds the API on `ds` (owned by the caller), logging to `destination` when given. */
export async function startHarness(
  ds: DataSource,
  options: { destination?: pino.DestinationStream; logLevel?: string; env?: Record<string, string>; dataMap?: DataMap } = {},
): Promise<Harness> {
  const config = testConfig(options.env ?? {});
  const dataMap = options.dataMap ?? testDataMap();
  const redis = createRedis(config.redisUrl, "producer");
  const connection = { connection: redis, prefix: config.queuePrefix };
  const queues = { erasure: new Queue(QUEUES.erasure, connection), maintenance: new Queue(QUEUES.maintenance, connection) };
  const logger = createLogger(options.logLevel ?? (options.destination ? "info" : "silent"), options.destination);
  const app = await buildServer({ ds, config, dataMap, queues, redis, logger });
  return {
    app,
    config,
    dataMap,
    queues,
    redis,
    async close() {
      await app.close();
      for (const q of Object.values(queues)) {
        await q.obliterate({ force: true });
        await q.close();
      }
      const left = await redis.keys(`${config.queuePrefix}:*`);
      if (left.length > 0) await redis.del(...left);
      await redis.quit();
    },
  };
}

/** Asserts an RFC 9457 problem response and returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number): Record<string, unknown> {
  expect(res.statusCode).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.json<Record<string, unknown>>();
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.stringMatching(/^urn:lethe:problem:/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      instance: expect.any(String),
    }),
  );
  return body;
}

/** `Authorization: Bearer <key>`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** What {@link useMigratedApi} provides once its `beforeAll` has run. */
export interface MigratedApi {
  h: Harness;
  ds: DataSource;
}

/**
 * One migrated scratch database and an API built on it for the calling test file (or
 * `describe`): made in `beforeAll`, closed and dropped in `afterAll`.
 */
export function useMigratedApi(options: { env?: Record<string, string>; dataMap?: DataMap } = {}): MigratedApi {
  const api = {} as MigratedApi;
  let db: ScratchDb | undefined;
  beforeAll(async () => {
    const made = await migratedLetheDb();
    db = made.db;
    api.ds = made.ds;
    api.h = await startHarness(made.ds, options);
  });
  afterAll(async () => {
    await api.h?.close();
    await api.ds?.destroy();
    await db?.drop();
  });
  return api;
}
