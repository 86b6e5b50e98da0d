import type { Command } from "commander";
import type * as DataSourceModule from "../../db/data-source";
import { configOrExit } from "../config-or-exit";

/** `lethe migrate`: applies pending migrations to Lethe's own database. */
export function register(program: Command): void {
  program
    .command("migrate")
    .description("apply pending migrations to Lethe's own database (DATABASE_URL)")
    .action(async () => {
      const config = configOrExit();
      const { createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const ds = createDataSource(config.databaseUrl, { poolSize: 1 });
      await ds.initialize();
      try {
        const applied = await ds.runMigrations({ transaction: "each" });
        process.stdout.write(applied.length === 0 ? "lethe: database is up to date\n" : applied.map((m) => `applied ${m.name}\n`).join(""));
      } finally {
        await ds.destroy();
      }
    });
}
