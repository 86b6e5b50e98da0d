import { ConfigError, envFilePath, loadConfig, loadEnvFile, type Config } from "../config";

/**
 * Loads the configuration: the env file first when present (`.env`, or `LETHE_ENV_FILE`; the real
 * environment wins), then the environment. On a bad one prints the problems as `lethe[ <command>]: …`,
 * saying when no env file was found, and exits 1.
 */
export function configOrExit(command?: string): Config {
  let file: string | null = null;
  try {
    file = loadEnvFile();
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const hint = file === null ? `\n  (no env file was found at ${envFilePath()}: copy .env.example to .env, or set the variables in the environment)` : "";
    process.stderr.write(`lethe${command ? ` ${command}` : ""}: ${err.message}${hint}\n`);
    return process.exit(1);
  }
}
