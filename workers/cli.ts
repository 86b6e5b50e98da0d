#!/usr/bin/env node
import { buildProgram } from "../src/cli/program";
import { runMain } from "../src/lifecycle";
import { main as api } from "./api";
import { main as worker } from "./worker";

/**
 * The `lethe` command line's entry point. The commands live in `src/cli/`; the two long-running
 * processes are wired here because `src/` never imports `workers/`.
 */
if (require.main === module) {
  runMain(undefined, () => buildProgram({ worker, api }).parseAsync(process.argv));
}
