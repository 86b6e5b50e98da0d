import type { Command } from "commander";

/**
 * Registers every `lethe` sub-command. Each command module exports `register(program)`;
 * add new ones here.
 */
export function registerCommands(program: Command): void {
  void program;
}
