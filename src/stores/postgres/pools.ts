import { Pool } from "pg";
import type { DataMap } from "../../datamap/schema";
import type { PostgresStoreSpec } from "./schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import { introspect, type SchemaInfo } from "./introspect";

/**
 * Connection pools to the application's Postgres stores, made lazily from the data map, plus a
 * per-process cache of each store's introspected schema (a schema change needs a worker restart).
 */
export class StorePools {
  private readonly pools = new Map<string, Pool>();
  private readonly pipelined = new Map<string, Pool>();
  private readonly schemas = new Map<string, Promise<SchemaInfo>>();

  constructor(
    private readonly dataMap: DataMap,
    private readonly poolSize = 10,
    private readonly eraseConnections = 4,
  ) {}

  /** The declaration of a postgres store; a permanent error when there is none. */
  spec(store: string): PostgresStoreSpec {
    const spec = this.dataMap.stores[store];
    if (!spec || spec.kind !== "postgres") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a postgres store of the data map`);
    return spec;
  }

  /** The pool of `store`. */
  pool(store: string): Pool {
    let pool = this.pools.get(store);
    if (!pool) {
      pool = new Pool({ connectionString: this.spec(store).url, max: this.poolSize });
      pool.on("error", () => undefined);
      // A checked-out client has no pool listener: when Postgres terminates it (a restart, 57P01)
      // its 'error' event would crash the process. The query in flight still rejects (and retries).
      pool.on("connect", (client) => client.on("error", () => undefined));
      this.pools.set(store, pool);
    }
    return pool;
  }

  /**
   * A second pool of `store` whose connections pipeline (node-pg `pipeline: true`): queries issued
   * together are written together and answered in order, one network round trip for all. The
   * compiled erasure sends its BEGIN with its call. Not for cursors or COPY (their portals stay open
   * across round trips), which use {@link pool}.
   */
  pipelinedPool(store: string): Pool {
    let pool = this.pipelined.get(store);
    if (!pool) {
      // Its connections carry the compiled erasure (set up once per connection: the temporary
      // tables, the function, and its first call's plans, 50-100 ms of Postgres CPU). So there are
      // few of them (`LETHE_ERASE_CONNECTIONS`, default 4: an erasure holds one for a few round
      // trips, and Postgres on two cores is not faster with more; 16 cost 1.3-1.8 ms of Postgres CPU
      // per erasure more over 1,000 than 4), and they are kept for minutes when idle, not
      // node-pg's default 10 s, so a trickle of requests does not set it up again and again.
      pool = new Pool({
        connectionString: this.spec(store).url,
        max: Math.min(this.poolSize, this.eraseConnections),
        pipeline: true,
        idleTimeoutMillis: 300_000,
      } as ConstructorParameters<typeof Pool>[0]);
      pool.on("error", () => undefined);
      // As for `pool`: a checked-out client terminated by a Postgres restart must not crash the process.
      pool.on("connect", (client) => client.on("error", () => undefined));
      this.pipelined.set(store, pool);
    }
    return pool;
  }

  /** The live schema of `store` (cached). */
  schema(store: string): Promise<SchemaInfo> {
    let s = this.schemas.get(store);
    if (!s) {
      s = introspect(this.pool(store), this.spec(store).schema);
      s.catch(() => this.schemas.delete(store));
      this.schemas.set(store, s);
    }
    return s;
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values(), ...this.pipelined.values()].map((p) => p.end()));
    this.pools.clear();
    this.pipelined.clear();
    this.schemas.clear();
  }
}
