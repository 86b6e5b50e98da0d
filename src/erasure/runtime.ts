import type { FlowProducer, Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import type { StoreSet } from "../stores/store-set";

/** What the erasure jobs need; built once per worker process. */
export interface ErasureRuntime {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  /** Adapters of every store of the data map. */
  storeSet: StoreSet;
  /** Adds an erasure's flow (one child per store, a finalizing parent). */
  flows: FlowProducer;
  erasureQueue: Queue;
  /** Housekeeping queue; also carries the optional completion callbacks to the application. */
  maintenanceQueue: Queue;
  logger: Logger;
}
