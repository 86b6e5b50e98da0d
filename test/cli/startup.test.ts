import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/child-process";

/** Packages `lethe --help` must not load: what makes a command line slow to start. */
const HEAVY = ["typeorm", "fastify", "bullmq", "ioredis", "pg", "archiver", "nodemailer", "pino", "prom-client", "@bull-board/api"];

/** Every package a fresh node process has loaded after building the `lethe` program. */
async function packagesLoadedByProgram(): Promise<string[]> {
  const script = `
    require("tsx/cjs");
    const { buildProgram } = require("./src/cli/program.ts");
    buildProgram({ worker: async () => undefined, api: async () => undefined }).helpInformation();
    const names = new Set();
    for (const file of Object.keys(require.cache)) {
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file.slice(file.lastIndexOf("node_modules/")));
      if (m) names.add(m[1]);
    }
    process.stdout.write(JSON.stringify([...names]));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], { cwd: REPO_ROOT });
  return JSON.parse(stdout) as string[];
}

describe("lethe start-up", () => {
  it("builds the program (--help, --version) without loading database, queue, HTTP or store code", async () => {
    const loaded = await packagesLoadedByProgram();
    expect(loaded).toContain("commander");
    // A command that imports one of these at the top of its module slows every `lethe` call: import it in the action instead.
    expect(loaded.filter((p) => HEAVY.includes(p))).toEqual([]);
  });
});
