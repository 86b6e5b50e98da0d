import { resolve } from "node:path";
import type { Command } from "commander";
import type * as DataMapCheck from "../../datamap/check";
import type * as DataMapLoad from "../../datamap/load";
import type * as Registry from "../../stores/registry";

/** Where `lethe check` looks for the data map without `--map`. (Default: `$LETHE_DATA_MAP`, else `./lethe.config.json`.) */
export function defaultMapPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.LETHE_DATA_MAP && env.LETHE_DATA_MAP !== "" ? env.LETHE_DATA_MAP : "./lethe.config.json";
}

/**
 * Validates the data map and checks it against the live databases. Prints every problem and
 * warning; returns 1 when there is a problem, else prints a one-line summary and returns 0.
 */
export async function runCheck(mapPath: string, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const file = resolve(mapPath);
  // Loaded when the command runs, so `lethe --help` stays fast.
  const { checkDataMap, formatProblems, isError } = require("../../datamap/check") as typeof DataMapCheck;
  const { DataMapError, loadDataMap } = require("../../datamap/load") as typeof DataMapLoad;
  const { kindOf } = require("../../stores/registry") as typeof Registry;
  try {
    const map = loadDataMap(file);
    const all = await checkDataMap(map);
    for (const line of formatProblems(file, all)) err.write(`${line}\n`);
    const problems = all.filter(isError);
    const warnings = all.length - problems.length;
    if (problems.length > 0) {
      err.write(`${problems.length} problem${problems.length === 1 ? "" : "s"}; the data map is not ready\n`);
      return 1;
    }
    const stores = Object.entries(map.stores).map(([name, s]) => `${name}: ${kindOf(s).summary(s)}`);
    out.write(`${file}: OK (${stores.join("; ")})${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof DataMapError)) throw e;
    for (const p of e.problems) err.write(`${e.file}: ${p}\n`);
    return 1;
  }
}

/** Registers `lethe check [--map <path>]`. */
export function register(program: Command): void {
  program
    .command("check")
    .description("validate the data map against the live databases; lists every problem and exits 1, or exits 0")
    .option("--map <path>", "data map file (default: $LETHE_DATA_MAP or ./lethe.config.json)")
    .action(async (opts: { map?: string }) => {
      process.exitCode = await runCheck(opts.map ?? defaultMapPath());
    });
}
