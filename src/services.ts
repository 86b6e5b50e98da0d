import { FlowProducer, Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "./config";
import type { DataMap } from "./datamap/schema";
import type { Logger } from "./logger";
import type { NoticeKind } from "./db/tables/rights-notice";
import type { MailTemplates } from "./mail/templates";
import type { MailTransport } from "./mail/transport";
import { createQueueConnection, type QueueConnection } from "./queues/connection";
import { QUEUES } from "./queues/names";
import { StorePools } from "./stores/postgres/pools";
import { StoreSet } from "./stores/store-set";

/** Lethe's queues as producers (`prefix: config.queuePrefix`), on the process's one queue connection. */
export interface Queues {
  erasure: Queue;
  maintenance: Queue;
  export: Queue;
  mail: Queue;
  retention: Queue;
  breach: Queue;
  rights: Queue;
}

/** What sending mail needs: one pooled SMTP transport per process, templates loaded (and checked) at start-up. */
export interface MailServices {
  transport: MailTransport;
  /** Templates by message kind; `notices` by notice kind (absent: this process sends no rights notices). */
  templates: { export: MailTemplates; notices?: Record<NoticeKind, MailTemplates> };
}

/**
 * Everything a process holds open, built once by its entry point (`workers/worker.ts`,
 * `workers/api.ts`, a CLI command) and handed down: to jobs as `ctx.services`, to the HTTP
 * routes as `app.services` (fastify `decorate`). Functions take the part they use
 * (`Pick<Services, "ds" | "config">`); there is no second bag of the same connections.
 */
export interface Services {
  config: Config;
  logger: Logger;
  /** Lethe's own database (initialized, migrated). */
  ds: DataSource;
  /** The validated data map. */
  dataMap: DataMap;
  /** The connection the queues and the flow producer share (the API's fails fast; `/readyz` pings it). */
  redis: QueueConnection;
  queues: Queues;
  /** Adds an erasure's flow (one child per store, a finalizing parent). */
  flows: FlowProducer;
  /** Connection pools of the application's Postgres stores, made on first use. */
  pools: StorePools;
  /** Each store's adapter (erase side) and exporter (export side), built from its kind on first use. */
  stores: StoreSet;
  /** Mail, in a worker that runs the `mail` queue. */
  mail?: MailServices;
  /**
   * Fingerprint of the data map and the mapped schemas (`datamap/fingerprint`), computed at
   * start-up: recorded on each request this process submits, compared with a request's by the
   * worker (`map_mismatch`), shown by `/readyz`. Absent in a process that did not compute it.
   */
  mapFingerprint?: string;
}

/** Services plus the means to close what {@link openServices} opened. */
export interface OpenServices extends Services {
  /** Closes the queues, the flow producer, the stores' connections and pools, and the queue connection (not `ds`). */
  close(): Promise<void>;
}

/**
 * Opens the services of a process around its (already initialized) DataSource and data map: one
 * queue connection (`worker`: waits for Redis; `producer`: fails fast, for the API), the queues,
 * the flow producer, and the stores (connections made lazily). The caller closes `ds` itself.
 */
export function openServices(
  config: Config,
  base: { ds: DataSource; dataMap: DataMap; logger: Logger; mapFingerprint?: string },
  options: { role: "worker" | "producer"; storePoolSize?: number },
): OpenServices {
  const { ds, dataMap, logger } = base;
  const redis = createQueueConnection(config, options.role);
  const producer = options.role === "producer";
  if (producer) redis.on("error", (err: Error) => logger.warn({ err }, "redis connection error"));
  const queue = (name: string): Queue => {
    const q = new Queue(name, { connection: redis, prefix: config.queuePrefix });
    if (producer) q.on("error", (err: Error) => logger.warn({ err, queue: q.name }, "queue error"));
    return q;
  };
  const queues: Queues = {
    erasure: queue(QUEUES.erasure),
    maintenance: queue(QUEUES.maintenance),
    export: queue(QUEUES.export),
    mail: queue(QUEUES.mail),
    retention: queue(QUEUES.retention),
    breach: queue(QUEUES.breach),
    rights: queue(QUEUES.rights),
  };
  const flows = new FlowProducer({ connection: redis, prefix: config.queuePrefix });
  if (producer) flows.on("error", (err: Error) => logger.warn({ err }, "flow producer error"));
  const pools = new StorePools(dataMap, options.storePoolSize, config.eraseConnections);
  const stores = new StoreSet({ dataMap, config, pools, logger, ds });
  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    ds,
    dataMap,
    redis,
    queues,
    flows,
    pools,
    stores,
    ...(base.mapFingerprint ? { mapFingerprint: base.mapFingerprint } : {}),
    close() {
      closing ??= (async () => {
        await Promise.all([...Object.values(queues), flows].map((q) => q.close().catch(() => undefined)));
        await stores.close();
        await pools.close();
        if (redis.status !== "end") await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
