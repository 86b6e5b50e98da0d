import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config";
import { loadDataMap } from "../datamap/load";
import type { DataMap } from "../datamap/schema";
import { assertMigrated, createDataSource } from "../db/data-source";
import { createLogger, type Logger } from "../logger";
import { createRedis } from "../queues/connection";
import { QUEUES } from "../queues/names";
import { buildServer } from "./server";
import { withTimeout } from "./with-timeout";

/** Options of {@link startApi}; the defaults are what `lethe api` wants. */
export interface StartApiOptions {
  /** (Default: a logger at `config.logLevel` writing to stdout) */
  logger?: Logger;
  /** Use this data map instead of loading `config.dataMapPath`. */
  dataMap?: DataMap;
  /** How long to wait for Redis at start-up before refusing to start. (Default: 10000 ms) */
  redisTimeoutMs?: number;
  /** Install SIGINT/SIGTERM handlers that close everything and exit the process. (Default: true) */
  handleSignals?: boolean;
}

/** How long {@link startApi} waits for Redis by default. */
export const REDIS_START_TIMEOUT_MS = 10_000;

/** A running API. */
export interface ApiHandle {
  app: FastifyInstance;
  /** The bound address; `port` is the real one when the config asked for port 0. */
  address: { host: string; port: number };
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops accepting HTTP, then closes the queues, Redis and the DataSource. Idempotent. */
  close(): Promise<void>;
}

/** Closes what was opened, in reverse order, and keeps going when one step fails. */
async function closeAll(steps: Array<() => Promise<unknown>>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw new Error("shutting down the API failed", { cause: first });
}

/**
 * Starts `lethe api`: the data map, Lethe's database (refusing an unmigrated one), the producer
 * Redis connection and the queues, then the HTTP server on `config.host:config.port`.
 */
export async function startApi(config: Config, opts: StartApiOptions = {}): Promise<ApiHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const dataMap = opts.dataMap ?? loadDataMap(config.dataMapPath);
  const opened: Array<() => Promise<unknown>> = [];
  try {
    const ds = createDataSource(config.databaseUrl);
    await ds.initialize();
    opened.unshift(() => ds.destroy());
    await assertMigrated(ds);

    const producer = createRedis(config.redisUrl, "producer");
    producer.on("error", (err: Error) => logger.warn({ err }, "redis connection error"));
    opened.unshift(async () => {
      if (producer.status !== "end") await producer.quit().catch(() => producer.disconnect());
    });
    const queueOptions = { connection: producer, prefix: config.queuePrefix };
    const queues = {
      erasure: new Queue(QUEUES.erasure, queueOptions),
      maintenance: new Queue(QUEUES.maintenance, queueOptions),
      export: new Queue(QUEUES.export, queueOptions),
      mail: new Queue(QUEUES.mail, queueOptions),
    };
    for (const q of Object.values(queues)) {
      q.on("error", (err: Error) => logger.warn({ err, queue: q.name }, "queue error"));
      opened.unshift(() => q.close());
    }
    // A queue whose connection was never ready waits for it on every add; wait here instead.
    await withTimeout(
      Promise.all(Object.values(queues).map((q) => q.waitUntilReady())),
      opts.redisTimeoutMs ?? REDIS_START_TIMEOUT_MS,
      "Redis did not answer at start-up: check REDIS_URL and that Redis is running",
    );

    const app = await buildServer({ ds, config, dataMap, queues, redis: producer, logger });
    opened.unshift(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const bound = app.server.address() as AddressInfo;
    const address = { host: bound.address, port: bound.port };
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        removeSignals();
        await closeAll(opened);
        logger.info("api stopped");
      })();
      return closing;
    };

    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, "second signal: exiting at once");
        process.exit(1);
      }
      signalled = true;
      logger.info({ signal }, "shutting down");
      const force = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown timed out: exiting");
        process.exit(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    const removeSignals = (): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
    if (opts.handleSignals ?? true) {
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    }

    logger.info({ address }, "api listening");
    return { app, address, url: `http://${host}:${bound.port}`, close };
  } catch (err) {
    await closeAll(opened).catch((closeErr: unknown) => logger.warn({ err: closeErr }, "cleanup after a failed start failed"));
    throw err;
  }
}
