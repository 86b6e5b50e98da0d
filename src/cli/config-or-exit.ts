import { ConfigError, loadConfig, type Config } from "../config";

/** Loads the configuration; on a bad environment prints the problems as `lethe[ <command>]: …` and exits 1. */
export function configOrExit(command?: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`lethe${command ? ` ${command}` : ""}: ${err.message}\n`);
    return process.exit(1);
  }
}
