import type { DataMap, StoreSpec } from "../datamap/schema";
import { PermanentError } from "../errors";
import type { StorePools } from "../pg/store-pools";
import { postgresExporter } from "./postgres-exporter";
import type { StoreExporter } from "./store-exporter";

/** What exporters are built from; one set per worker process. */
export interface ExporterDeps {
  dataMap: DataMap;
  pools: StorePools;
}

type Factory = (store: string, deps: ExporterDeps) => StoreExporter;

/**
 * Exporters by store kind. A kind without one makes every export fail visibly (fail closed: an
 * access answer that silently leaves out a store is wrong); a new kind adds one line here.
 */
const FACTORIES: Partial<Record<StoreSpec["kind"], Factory>> = {
  postgres: postgresExporter,
};

/** Error code of an export that meets a store kind nobody can export yet. */
export const STORE_NOT_EXPORTABLE = "store_not_exportable";

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
}
