/**
 * `npm run bench:leftovers`: the leftover audit's read rate. The trap shop (test/fixtures/traps)
 * with BENCH_ROWS page views (default 1,000,000; a text column each) and a ledger of BENCH_LEDGER
 * erased subjects (default 10,000 `erasure.completed` entries, keyed hashes only); a few erased
 * emails are planted in an unlinked column so the audit has something to find. The audit runs in
 * this process against the scratch databases, exactly as `lethe audit-leftovers` does.
 * Last stdout line: {"rows", "values", "ms", "rows_per_s", "values_per_s", "findings", "peak_rss_mb"}.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { auditLeftovers } from "../src/audit/leftover-audit";
import { loadConfig } from "../src/config";
import { parseDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { appendAudit } from "../src/db/tables/audit-log";
import { createLogger } from "../src/logger";
import { StorePools } from "../src/stores/postgres/pools";
import { StoreSet } from "../src/stores/store-set";
import { identityHashes } from "../src/subject/hashes";
import { createScratchDb } from "../support/scratch-db";
import { loadTraps } from "../test/fixtures/traps/seed";
import { letheEnv, migrate, peakRssMb, runBench, SCRATCH } from "./support";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const LEDGER = Number(process.env.BENCH_LEDGER ?? 10_000);
const PLANTED = 5;

async function main(): Promise<void> {
  const lethe = await createScratchDb("bench_leftovers_lethe", SCRATCH);
  const app = await createScratchDb("bench_leftovers_app", SCRATCH);
  try {
    await migrate(lethe.url);
    await loadTraps(app.url, { pageViews: ROWS });
    const env = letheEnv(lethe.url, "unused.json", { TRAPS_DATABASE_URL: app.url });
    const config = loadConfig(env);
    const mapFile = join(__dirname, "..", "test", "fixtures", "traps", "lethe.config.json");
    const dataMap = parseDataMap(JSON.parse(readFileSync(mapFile, "utf8")), mapFile, env);
    const ds = createDataSource(lethe.url, { poolSize: 2 });
    await ds.initialize();
    // The ledger: erased subjects who never were in this shop, plus PLANTED whose emails were copied into page paths.
    for (let i = 0; i < LEDGER; i++) {
      const identities = { id: String(1_000_000 + i), email: `erased${i}@example.net` };
      await appendAudit(ds, {
        event: "erasure.completed",
        actor: "bench",
        detail: { subjectFound: true, identityHashes: identityHashes(config.hmacKey, identities, dataMap.subject) },
      });
    }
    const c = new Client({ connectionString: app.url });
    await c.connect();
    await c.query(`UPDATE page_views SET path = ' Erased' || id || '@Example.net' WHERE id <= ${PLANTED}`);
    await c.query("VACUUM ANALYZE page_views");
    await c.end();

    const pools = new StorePools(dataMap, 2);
    const stores = new StoreSet({ dataMap, config, pools, logger: createLogger("warn"), ds });
    try {
      const report = await auditLeftovers({ ds, config, dataMap, stores });
      const found = report.findings.reduce((n, f) => n + f.count, 0);
      if (found !== PLANTED) throw new Error(`expected ${PLANTED} planted leftovers, found ${found}`);
      process.stdout.write(
        `${JSON.stringify({
          rows: report.rows,
          values: report.values,
          ms: report.ms,
          rows_per_s: report.rowsPerSecond,
          values_per_s: Math.round((report.values * 1000) / Math.max(1, report.ms)),
          findings: report.findings,
          ledger: report.ledger,
          peak_rss_mb: peakRssMb(process.pid),
        })}\n`,
      );
    } finally {
      await stores.close();
      await pools.close();
      await ds.destroy();
    }
  } finally {
    await app.drop();
    await lethe.drop();
  }
}

runBench("leftovers", main);
