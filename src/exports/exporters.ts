import type { DataMap, StoreSpec } from "../datamap/schema";
import { PermanentError } from "../errors";
import type { Logger } from "../logger";
import type { StorePools } from "../pg/store-pools";
import { filesExporter } from "./files-exporter";
import { postgresExporter } from "./postgres-exporter";
import { redisExporter } from "./redis-exporter";
import { STORE_NOT_EXPORTABLE, type StoreExporter } from "./store-exporter";
import { webhookExporter } from "./webhook-exporter";

export { STORE_NOT_EXPORTABLE };

/** What exporters are built from; one set per worker process. */
export interface ExporterDeps {
  dataMap: DataMap;
  pools: StorePools;
  /** Process logger, for connection events of exporters with their own connection (redis). */
  logger: Logger;
}

type Factory = (store: string, deps: ExporterDeps) => StoreExporter;

/**
 * Exporters by store kind. A kind without one makes every export fail visibly (fail closed: an
 * access answer that silently leaves out a store is wrong); a new kind adds one line here.
 */
const FACTORIES: Partial<Record<StoreSpec["kind"], Factory>> = {
  postgres: postgresExporter,
  redis: redisExporter,
  files: filesExporter,
  // Not asked yet: records `processors/<store>.json` instead of the processor's data.
  webhook: webhookExporter,
};

/** The exporters of every store of the data map, built once per process. */
export class ExporterSet {
  private readonly exporters = new Map<string, StoreExporter>();

  constructor(private readonly deps: ExporterDeps) {}

  /** Store names: the subject store first, then data-map order. */
  names(): string[] {
    const subject = this.deps.dataMap.subject.store;
    return [subject, ...Object.keys(this.deps.dataMap.stores).filter((s) => s !== subject)];
  }

  /** The exporter of `store`; a permanent error when its kind has none. */
  get(store: string): StoreExporter {
    let e = this.exporters.get(store);
    if (!e) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new PermanentError("data_map_invalid", `store "${store}" is not in the data map`);
      const factory = FACTORIES[spec.kind];
      if (!factory) throw new PermanentError(STORE_NOT_EXPORTABLE, `store "${store}" is of kind "${spec.kind}", which cannot be exported yet`);
      e = factory(store, this.deps);
      this.exporters.set(store, e);
    }
    return e;
  }

  /** Closes the exporters' own connections (redis stores); at process shutdown. */
  async close(): Promise<void> {
    const all = [...this.exporters.values()];
    this.exporters.clear();
    await Promise.all(all.flatMap((e) => (e.close ? [e.close()] : [])));
  }
}
