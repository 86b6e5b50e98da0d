import type { StoreSpec } from "../datamap/schema";
import { filesAdapter } from "./files/adapter";
import { postgresAdapter } from "./postgres-adapter";
import { redisAdapter } from "./redis/adapter";
import type { StoreAdapter, StoreDeps } from "./store-adapter";
import { webhookAdapter } from "./webhook/webhook-adapter";

type Factory = (store: string, deps: StoreDeps) => StoreAdapter;

/** Store kinds by their data-map `kind`. A new kind adds one line here. */
const FACTORIES: Record<StoreSpec["kind"], Factory> = {
  postgres: postgresAdapter,
  redis: redisAdapter,
  files: filesAdapter,
  webhook: webhookAdapter,
};

/** The adapters of every store of the data map, built once per process. */
export class StoreSet {
  private readonly adapters = new Map<string, StoreAdapter>();

  constructor(private readonly deps: StoreDeps) {}

  /** Store names in data-map order: the subject store first. */
  names(): string[] {
    const all = Object.keys(this.deps.dataMap.stores);
    const subject = this.deps.dataMap.subject.store;
    return [subject, ...all.filter((s) => s !== subject)];
  }

  /** The adapter of `store`. */
  get(store: string): StoreAdapter {
    let a = this.adapters.get(store);
    if (!a) {
      const spec = this.deps.dataMap.stores[store];
      if (!spec) throw new Error(`store "${store}" is not in the data map`);
      a = FACTORIES[spec.kind](store, this.deps);
      this.adapters.set(store, a);
    }
    return a;
  }

  /** Closes the adapters' own connections (redis stores); at process shutdown. */
  async close(): Promise<void> {
    const all = [...this.adapters.values()];
    this.adapters.clear();
    await Promise.all(all.flatMap((a) => (a.close ? [a.close()] : [])));
  }
}
