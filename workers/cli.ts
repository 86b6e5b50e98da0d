#!/usr/bin/env node
import { buildProgram } from "../src/cli/program";
import { runMain } from "../src/lifecycle";
import type * as Api from "./api";
import type * as Worker from "./worker";

/**
 * The `lethe` command line's entry point (`bin/lethe.js` runs its compiled form). The commands
 * live in `src/cli/`; the two long-running processes are wired here because `src/` never imports
 * `workers/`. They are loaded when their command runs, so `lethe --help` loads no server code.
 */
export function main(argv: readonly string[] = process.argv): void {
  runMain(undefined, () =>
    buildProgram({
      worker: (queues) => (require("./worker") as typeof Worker).main(queues),
      api: () => (require("./api") as typeof Api).main(),
    }).parseAsync(argv),
  );
}

if (require.main === module) main();
