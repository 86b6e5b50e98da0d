#!/usr/bin/env node
import { Command } from "commander";
import { registerCommands } from "./commands";

/** The `lethe` command line. Each command lives in `cli/commands/<name>.ts`. */
export function buildProgram(): Command {
  const program = new Command("lethe").description("GDPR work in the background: erasure, retention, exports, breach notification").showHelpAfterError();
  registerCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`lethe: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
