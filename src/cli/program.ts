import { Command } from "commander";
import { LETHE_VERSION } from "../version";
import { registerCommands, type ProcessEntries } from "./commands";

/**
 * The `lethe` command line. Each command lives in `cli/commands/<name>.ts`; the two long-running
 * processes (`worker`, `api`) are given by the entry point (`workers/cli.ts`), which may import
 * `workers/` where the library may not. Building the program loads no database, queue, HTTP or
 * store code: a command module imports those inside its action (`require` typed with
 * `typeof import`), so `lethe --help` and `--version` start fast (test/cli/startup.test.ts).
 */
export function buildProgram(processes: ProcessEntries): Command {
  const program = new Command("lethe")
    .description("GDPR work in the background: cascading erasure, retention sweeps and access exports across your application's stores")
    .version(LETHE_VERSION, "-V, --version", "print Lethe's version")
    .showHelpAfterError();
  registerCommands(program, processes);
  return program;
}
