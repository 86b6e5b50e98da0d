#!/usr/bin/env node
"use strict";
// The `lethe` command: runs the compiled command line (dist/workers/cli.js). `npm pack` and
// `npm publish` build dist/ first (prepack); in a clone, run `npm run build` or use `npm run lethe`.
let cli;
try {
  cli = require("../dist/workers/cli.js");
} catch (err) {
  if (err && err.code === "MODULE_NOT_FOUND" && String(err.message).includes("dist/workers/cli.js")) {
    process.stderr.write("lethe: the compiled command line is missing (dist/): run `npm run build` first, or `npm run lethe -- <command>` in a clone\n");
    process.exit(1);
  }
  throw err;
}
cli.main();
