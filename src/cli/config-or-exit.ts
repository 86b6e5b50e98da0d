import { ConfigError, loadConfig, type Config } from "../config";

/** Loads the configuration for a CLI command; on a bad environment prints the problems and exits 1. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lethe: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
