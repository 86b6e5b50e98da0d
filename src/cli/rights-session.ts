import { initializeAtStart } from "../db/connect-at-start";
import { loadDataMap } from "../datamap/load";
import { assertMigrated, createDataSource } from "../db/data-source";
import { RequestInputError } from "../errors";
import { HttpProblem } from "../http/problem";
import { createLogger } from "../logger";
import type { RightsServices } from "../rights/services";
import { openServices, type OpenServices } from "../services";
import { configOrExit } from "./config-or-exit";

/**
 * What a `lethe request <right>` or `lethe rights …` command runs in: the same services as the
 * API (Lethe's database, the data map, the stores, the queues), opened for the command and closed
 * after it. Its output is JSON on stdout; a refusal (bad input, a decision not possible now) is
 * one line on stderr and exit code 1, as `lethe <command>: <what to do>`.
 */
export async function withRightsServices(command: string, fn: (s: RightsServices) => Promise<unknown>): Promise<void> {
  const config = configOrExit(command);
  const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
  await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
  let services: OpenServices | undefined;
  try {
    await assertMigrated(ds);
    const dataMap = loadDataMap(config.dataMapPath);
    services = openServices(config, { ds, dataMap, logger: createLogger(config.logLevel) }, { role: "worker", storePoolSize: 2 });
    const out = await fn(services);
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } catch (err) {
    if (err instanceof HttpProblem || err instanceof RequestInputError) {
      const detail = err instanceof HttpProblem ? err.problem.detail : `${err.field}: ${err.message}`;
      process.stderr.write(`lethe ${command}: ${detail}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await services?.close();
    await ds.destroy();
  }
}

/** Prints a refusal (`lethe <command>: <message>`) and sets exit code 1; returns undefined so nothing else is printed. */
export function refused(command: string, message: string): undefined {
  process.stderr.write(`lethe ${command}: ${message}\n`);
  process.exitCode = 1;
  return undefined;
}
