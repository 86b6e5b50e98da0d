import { Command } from "commander";
import { registerCommands, type ProcessEntries } from "./commands";

/**
 * The `lethe` command line. Each command lives in `cli/commands/<name>.ts`; the two long-running
 * processes (`worker`, `api`) are given by the entry point (`workers/cli.ts`), which may import
 * `workers/` where the library may not.
 */
export function buildProgram(processes: ProcessEntries): Command {
  const program = new Command("lethe").description("GDPR work in the background: erasure, retention, exports, breach notification").showHelpAfterError();
  registerCommands(program, processes);
  return program;
}
