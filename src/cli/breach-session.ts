import { initializeAtStart } from "../db/connect-at-start";
import { readFileSync } from "node:fs";
import type * as DataMapLoad from "../datamap/load";
import type * as DataSourceModule from "../db/data-source";
import type * as LoggerModule from "../logger";
import type * as ServicesModule from "../services";
import type { OpenServices } from "../services";
import { configOrExit } from "./config-or-exit";

/**
 * What a `lethe breach …` command works with: the process's services (Lethe's database, the data
 * map, the queues, the stores), opened for the command and closed after it, and the errors the
 * register raises printed as one line naming the fields (exit code 1; a 4xx in the API).
 */

/** The command's services and its actor (`--by`, default `cli`). */
export type BreachSession = OpenServices;

/** Runs `fn` with the services open; prints the register's errors as `lethe breach <name>: …`. */
export async function withBreachSession(name: string, fn: (s: BreachSession) => Promise<void>): Promise<void> {
  const config = configOrExit(`breach ${name}`);
  // Loaded when the command runs, so `lethe --help` stays fast.
  const { loadDataMap } = require("../datamap/load") as typeof DataMapLoad;
  const { assertMigrated, createDataSource } = require("../db/data-source") as typeof DataSourceModule;
  const { createLogger } = require("../logger") as typeof LoggerModule;
  const { openServices } = require("../services") as typeof ServicesModule;
  const ds = createDataSource(config.databaseUrl, { poolSize: 3 });
  await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
  let services: OpenServices | undefined;
  try {
    await assertMigrated(ds);
    const dataMap = loadDataMap(config.dataMapPath);
    services = openServices(config, { ds, dataMap, logger: createLogger(config.logLevel) }, { role: "worker", storePoolSize: 2 });
    await fn(services);
  } catch (err) {
    const message = registerErrorMessage(err);
    if (message === null) throw err;
    process.stderr.write(`lethe breach ${name}: ${message}\n`);
    process.exitCode = 1;
  } finally {
    await services?.close();
    await ds.destroy();
  }
}

/** The one-line message of an error of the register (bad input, unknown incident, not allowed now), or null. */
export function registerErrorMessage(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  if (["BreachInputError", "IncidentNotFoundError", "IncidentConflictError", "StatusTransitionError", "NoticeTemplateError"].includes(err.name))
    return err.message;
  return null;
}

/** A JSON body from `--file <path>` (`-` for stdin) or `--json <text>`; `fallback` when neither is given. */
export function bodyOf(opts: { file?: string; json?: string }, fallback?: unknown): unknown {
  if (opts.json !== undefined) return JSON.parse(opts.json);
  if (opts.file !== undefined) return JSON.parse(readFileSync(opts.file === "-" ? 0 : opts.file, "utf8"));
  if (fallback !== undefined) return fallback;
  throw new Error("give the body with --file <path> or --json '<json>'");
}

/** Values from a file, one per line (blank lines and surrounding spaces dropped) — an uploaded list of keys or identities. */
export function linesOf(path: string): string[] {
  return readFileSync(path === "-" ? 0 : path, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
