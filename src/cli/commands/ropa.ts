import { resolve } from "node:path";
import type { Command } from "commander";
import type * as AuditLog from "../../audit/log";
import type * as RetentionOverview from "../../console/retention-overview";
import type * as DataSourceModule from "../../db/data-source";
import type * as DataMapLoad from "../../datamap/load";
import type * as RopaCheck from "../../ropa/check";
import type * as RopaRegister from "../../ropa/register";
import type * as RopaRender from "../../ropa/render";
import { configOrExit } from "../config-or-exit";
import { defaultMapPath } from "./check";

const FORMATS = ["md", "json", "csv", "html"] as const;

/**
 * `lethe ropa [--format md|json|csv|html]`: the record of processing activities (Art. 30), generated
 * from the data map and the retention policies' last runs. `lethe ropa check`: exits 1 on drift
 * (personal data in no purpose, a processor without country, a transfer without safeguard, a
 * declared period no policy enforces). `lethe audit verify`: re-computes the audit chain.
 */
export function register(program: Command): void {
  const ropa = program
    .command("ropa")
    .description("print the record of processing activities (Art. 30) generated from the data map")
    .option("--format <format>", `one of ${FORMATS.join(", ")}`, "md")
    .action(async (opts: { format: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        process.stderr.write(`lethe ropa: --format must be one of ${FORMATS.join(", ")}\n`);
        process.exitCode = 1;
        return;
      }
      const config = configOrExit("ropa");
      const { loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
      const { createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { retentionOverview } = require("../../console/retention-overview") as typeof RetentionOverview;
      const { buildRegister } = require("../../ropa/register") as typeof RopaRegister;
      const { renderRegister } = require("../../ropa/render") as typeof RopaRender;
      const map = loadDataMap(resolve(config.dataMapPath));
      const ds = createDataSource(config.databaseUrl, { poolSize: 1 });
      await ds.initialize();
      try {
        const now = new Date();
        const register = buildRegister(map, await retentionOverview(ds, map, now), config, now);
        process.stdout.write(renderRegister(register, opts.format as (typeof FORMATS)[number]));
      } finally {
        await ds.destroy();
      }
    });

  ropa
    .command("check")
    .description("exit 1 when the register drifts from what Lethe enforces; lists every drift")
    .option("--map <path>", "data map file (default: $LETHE_DATA_MAP or ./lethe.config.json)")
    .action((opts: { map?: string }) => {
      const { DataMapError, loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
      const { checkRegister } = require("../../ropa/check") as typeof RopaCheck;
      const file = resolve(opts.map ?? defaultMapPath());
      try {
        const drift = checkRegister(loadDataMap(file));
        for (const d of drift) process.stderr.write(`${file}: ${d.where}: ${d.message} [${d.rule}]\n`);
        if (drift.length > 0) {
          process.stderr.write(`${drift.length} drift${drift.length === 1 ? "" : "s"}; the register of processing is not true to what Lethe enforces\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${file}: the register of processing matches the map and its retention policies\n`);
      } catch (e) {
        if (!(e instanceof DataMapError)) throw e;
        for (const p of e.problems) process.stderr.write(`${e.file}: ${p}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command("audit")
    .description("the audit log")
    .command("verify")
    .description("re-compute the audit log's hash chain; exit 1 when it is broken")
    .action(async () => {
      const config = configOrExit("audit verify");
      const { createDataSource } = require("../../db/data-source") as typeof DataSourceModule;
      const { verifyAuditChain } = require("../../audit/log") as typeof AuditLog;
      const ds = createDataSource(config.databaseUrl, { poolSize: 1 });
      await ds.initialize();
      try {
        const report = await verifyAuditChain(ds);
        process.stdout.write(`${JSON.stringify({ intact: report.brokenAt === null, ...report })}\n`);
        if (report.brokenAt !== null) process.exitCode = 1;
      } finally {
        await ds.destroy();
      }
    });
}
