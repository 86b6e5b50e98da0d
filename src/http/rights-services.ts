import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { QUEUES } from "../queues/names";
import type { RightsServices } from "../rights/services";
import { StorePools } from "../stores/postgres/pools";
import { StoreSet } from "../stores/store-set";

/**
 * What the rights routes use, from the API's services: the stores (the subject is looked up and a
 * rectification's values tried before anything is recorded) and the rights and mail queues. A
 * process whose services lack them (a trimmed test harness) gets its own, closed with the app.
 */
export function rightsServicesOf(app: FastifyInstance): RightsServices {
  const known = MADE.get(app.services);
  if (known) return known;
  const { ds, config, dataMap, redis, logger, queues } = app.services;
  const owned: Array<() => Promise<void>> = [];
  const queue = (name: string): Queue => {
    const q = new Queue(name, { connection: redis, prefix: config.queuePrefix });
    q.on("error", (err: Error) => logger.warn({ err, queue: q.name }, "queue error"));
    owned.push(() => q.close());
    return q;
  };
  let stores = app.services.stores;
  if (!stores) {
    const pools = new StorePools(dataMap, 2);
    const made = new StoreSet({ dataMap, config, pools, logger, ds });
    owned.push(async () => {
      await made.close();
      await pools.close();
    });
    stores = made;
  }
  const rights = queues.rights ?? queue(QUEUES.rights);
  const mail = queues.mail ?? queue(QUEUES.mail);
  if (owned.length > 0) {
    const services = app.services;
    app.addHook("onClose", async () => {
      MADE.delete(services);
      for (const close of owned) await close().catch(() => undefined);
    });
  }
  const made: RightsServices = {
    ds,
    config,
    dataMap,
    stores,
    logger,
    queues: { rights, mail, ...(queues.maintenance ? { maintenance: queues.maintenance } : {}) },
  };
  MADE.set(app.services, made);
  return made;
}

/** One set per API (its services object), shared by every route plugin. */
const MADE = new WeakMap<object, RightsServices>();
