import type { Command } from "commander";
import { register as registerApi } from "./api";
import { register as registerBreach } from "./breach";
import { register as registerAuditLeftovers } from "./audit-leftovers";
import { register as registerCheck } from "./check";
import { register as registerInit } from "./init";
import { register as registerMigrate } from "./migrate";
import { register as registerReplay } from "./replay";
import { register as registerRequest } from "./request";
import { register as registerRopa } from "./ropa";
import { register as registerRights } from "./rights";
import { register as registerStatus } from "./status";
import { register as registerSweep } from "./sweep";
import { register as registerWorker } from "./worker";

/** The long-running processes, started by their entry points in `workers/`. */
export interface ProcessEntries {
  /** `lethe worker [--queues …]`: runs until SIGINT/SIGTERM. */
  worker: (queues?: string[]) => Promise<void>;
  /** `lethe api`: serves until SIGINT/SIGTERM. */
  api: () => Promise<void>;
}

/**
 * Registers every `lethe` sub-command. Each command module exports `register(program)`;
 * add new ones here.
 */
export function registerCommands(program: Command, processes: ProcessEntries): void {
  registerApi(program, processes.api);
  registerBreach(program);
  registerAuditLeftovers(program);
  registerCheck(program);
  registerInit(program);
  registerMigrate(program);
  registerReplay(program);
  registerRequest(program);
  registerRopa(program);
  registerRights(program);
  registerStatus(program);
  registerSweep(program);
  registerWorker(program, processes.worker);
}
