import type { DataSource } from "typeorm";
import { purgeExports, type PurgeOutcome } from "../src/exports/purge";
import type { Logger } from "../src/logger";

/** Job name: deletes the files of expired (and failed) exports; scheduled on the maintenance queue. */
export const NAME = "purge-exports";

/** Runs one purge pass. */
export function processPurgeExports(ds: DataSource, exportDir: string, logger: Logger): Promise<PurgeOutcome> {
  return purgeExports(ds, exportDir, logger);
}
