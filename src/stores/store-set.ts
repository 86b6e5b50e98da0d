import { ERROR_CODES, PermanentError } from "../errors";
import { kindOf } from "./registry";
import { BreachInputError } from "../breach/input-error";
import type { AffectedLocator } from "./affected";
import type { StoreRights } from "./rights-side";
import type { StoreAdapter, StoreDeps, StoreExporter } from "./store-kind";

/**
 * The stores of the data map as the process uses them: each store's adapter (erase side) and
 * exporter (export side), built from its kind on first use, once per process.
 */
export class StoreSet {
  private readonly adapters = new Map<string, StoreAdapter>();
  private readonly exporters = new Map<string, StoreExporter>();
  private readonly locators = new Map<string, AffectedLocator>();
  private readonly rightsSides = new Map<string, StoreRights>();

  constructor(private readonly deps: StoreDeps) {}

  /** Store names in data-map order: the subject store first. */
  names(): string[] {
    const all = Object.keys(this.deps.dataMap.stores);
    const subject = this.deps.dataMap.subject.store;
    return [subject, ...all.filter((s) => s !== subject)];
  }

  /** The adapter (erase side) of `store`. */
  adapter(store: string): StoreAdapter {
    let a = this.adapters.get(store);
    if (!a) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new Error(`store "${store}" is not in the data map`);
      a = kindOf(spec).adapter(store, this.deps);
      this.adapters.set(store, a);
    }
    return a;
  }

  /** The exporter (export side) of `store`; a permanent error when its kind has none (fail closed). */
  exporter(store: string): StoreExporter {
    let e = this.exporters.get(store);
    if (!e) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not in the data map`);
      const kind = kindOf(spec);
      if (!kind.exporter) throw new PermanentError(ERROR_CODES.storeNotExportable, `store "${store}" is of kind "${spec.kind}", which cannot be exported yet`);
      e = kind.exporter(store, this.deps);
      this.exporters.set(store, e);
    }
    return e;
  }

  /** The breach locator of `store`; a `BreachInputError` (400) when the store is unknown or its kind cannot find people from rows. */
  affected(store: string): AffectedLocator {
    let l = this.locators.get(store);
    if (!l) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new BreachInputError("scope", [{ field: "scope.store", message: `store "${store}" is not in the data map` }]);
      const kind = kindOf(spec);
      if (!kind.affected) {
        throw new BreachInputError("scope", [
          { field: "scope.store", message: `store "${store}" is of kind "${spec.kind}", which cannot find the people its rows belong to` },
        ]);
      }
      l = kind.affected(store, this.deps);
      this.locators.set(store, l);
    }
    return l;
  }

  /** The rights side of `store` (rectification, processors' events), or null when its kind has nothing to do for them. */
  rights(store: string): StoreRights | null {
    let r = this.rightsSides.get(store);
    if (!r) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not in the data map`);
      const kind = kindOf(spec);
      if (!kind.rights) return null;
      r = kind.rights.open(store, this.deps);
      this.rightsSides.set(store, r);
    }
    return r;
  }

  /** Closes the adapters' and exporters' own connections (redis stores); at process shutdown. */
  async close(): Promise<void> {
    const all = [...this.adapters.values(), ...this.exporters.values(), ...this.rightsSides.values()];
    this.adapters.clear();
    this.exporters.clear();
    this.rightsSides.clear();
    this.locators.clear();
    await Promise.all(all.flatMap((a) => (a.close ? [a.close()] : [])));
  }
}
