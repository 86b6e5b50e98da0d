import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { configOrExit } from "../src/cli/config-or-exit";
import type { Config } from "../src/config";
import { assertDataMapReady } from "../src/datamap/check";
import { fingerprintAtStart } from "../src/datamap/fingerprint";
import { loadDataMap } from "../src/datamap/load";
import type { DataMap } from "../src/datamap/schema";
import { initializeAtStart } from "../src/db/connect-at-start";
import { assertMigrated, createDataSource } from "../src/db/data-source";
import { buildServer } from "../src/http/server";
import { withTimeout } from "../src/http/with-timeout";
import { onShutdownSignal, runMain } from "../src/lifecycle";
import { createLogger, type Logger } from "../src/logger";
import { openServices, type Services } from "../src/services";

/** Options of {@link startApi}; the defaults are what `lethe api` wants. */
export interface StartApiOptions {
  /** (Default: a logger at `config.logLevel` writing to stdout) */
  logger?: Logger;
  /** Use this data map instead of loading `config.dataMapPath`. */
  dataMap?: DataMap;
  /** How long to wait for Redis at start-up before refusing to start. (Default: 10000 ms) */
  redisTimeoutMs?: number;
  /** How long to wait for Postgres at start-up before refusing to start. (Default: 10000 ms) */
  startWaitMs?: number;
  /** Install SIGINT/SIGTERM handlers that close everything and exit the process. (Default: true) */
  handleSignals?: boolean;
}

/** How long {@link startApi} waits for Redis by default. */
export const REDIS_START_TIMEOUT_MS = 10_000;

/** A running API. */
export interface ApiHandle {
  app: FastifyInstance;
  /** The process's services (what `app.services` holds). */
  services: Services;
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
 * Starts `lethe api`: config → connections (the data map — refusing one that fails `lethe check`,
 * as the worker does —, its fingerprint, Lethe's database — refusing an unmigrated one —, the
 * fail-fast producer Redis connection and the queues) → the HTTP server on `config.host:config.port`
 * → signals.
 */
export async function startApi(config: Config, opts: StartApiOptions = {}): Promise<ApiHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const dataMap = opts.dataMap ?? loadDataMap(config.dataMapPath);
  const opened: Array<() => Promise<unknown>> = [];
  try {
    const ds = createDataSource(config.databaseUrl);
    await initializeAtStart(ds, config.databaseUrl, opts.startWaitMs ?? config.startTimeoutMs);
    opened.unshift(() => ds.destroy());
    await assertMigrated(ds);
    // Fail closed like the worker: a map that fails `lethe check` never takes requests.
    if (!opts.dataMap) await assertDataMapReady(dataMap, config.dataMapPath);
    const fingerprint = await fingerprintAtStart(dataMap, opts.dataMap !== undefined, logger);

    const services = openServices(config, { ds, dataMap, logger, mapFingerprint: fingerprint }, { role: "producer" });
    opened.unshift(() => services.close());
    // A queue whose connection was never ready waits for it on every add; wait here instead.
    await withTimeout(
      Promise.all(Object.values(services.queues).map((q) => q.waitUntilReady())),
      opts.redisTimeoutMs ?? config.startTimeoutMs,
      "Redis did not answer at start-up: check REDIS_URL and that Redis is running",
    );

    const app = await buildServer(services);
    opened.unshift(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const bound = app.server.address() as AddressInfo;
    const address = { host: bound.address, port: bound.port };
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;

    let removeSignals = (): void => undefined;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        removeSignals();
        await closeAll(opened);
        logger.info("api stopped");
      })();
      return closing;
    };
    if (opts.handleSignals ?? true) removeSignals = onShutdownSignal(logger, close, { forceExitAfterMs: config.shutdownTimeoutMs });

    logger.info({ address, mapFingerprint: fingerprint }, "api listening");
    return { app, services, address, url: `http://${host}:${bound.port}`, close };
  } catch (err) {
    await closeAll(opened).catch((closeErr: unknown) => logger.warn({ err: closeErr }, "cleanup after a failed start failed"));
    throw err;
  }
}

/** Process entry point of `lethe api`: config → connections → server → signals. */
export async function main(): Promise<void> {
  await startApi(configOrExit("api"));
}

if (require.main === module) runMain("api", main);
