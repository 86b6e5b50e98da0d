import type { Command } from "commander";
import type * as DataSourceModule from "../../db/data-source";
import type * as EnsureModule from "../../db/ensure-database";
import { initializeAtStart } from "../../db/connect-at-start";
import { configOrExit } from "../config-or-exit";

/** `lethe migrate`: creates Lethe's own database when it can, then applies pending migrations. */
export function register(program: Command): void {
  program
    .command("migrate")
    .description("create Lethe's own database if it is missing (when allowed), then apply pending migrations (DATABASE_URL)")
    .action(async () => {
      const config = configOrExit("migrate");
      const { createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { ensureDatabase } = require("../../db/ensure-database") as typeof EnsureModule;
      const created = await ensureDatabase(config.databaseUrl);
      if (created) process.stdout.write(`lethe: created the database ${created}\n`);
      const ds = createDataSource(config.databaseUrl, { poolSize: 1 });
      await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
      try {
        const applied = await ds.runMigrations({ transaction: "each" });
        process.stdout.write(applied.length === 0 ? "lethe: database is up to date\n" : applied.map((m) => `applied ${m.name}\n`).join(""));
      } finally {
        await ds.destroy();
      }
    });
}
