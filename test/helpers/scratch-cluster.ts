import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../support/free-port";

/**
 * A Postgres cluster of the test's own (initdb + pg_ctl on a free port, trust auth on 127.0.0.1),
 * so a test can restart or stop Postgres without disturbing the rest of the suite.
 */

const run = promisify(execFile);
const PG_BIN = process.env.TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** A running scratch cluster. */
export interface ScratchCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<db>`. */
  url(db: string): string;
  /** `pg_ctl restart -m fast`: every connection is terminated (57P01), the server is back when it resolves. */
  restart(): Promise<void>;
  /** Stops the server at once and deletes its files. */
  destroy(): Promise<void>;
}

/** initdb refuses root: run the cluster's commands as `postgres` then. */
async function asOwner(cmd: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", cmd, ...args]);
  else await run(cmd, args);
}

/** Creates and starts a scratch cluster. */
export async function startScratchCluster(): Promise<ScratchCluster> {
  const dir = mkdtempSync(join(tmpdir(), "lethe-pgc-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => asOwner(join(PG_BIN, "pg_ctl"), ["-D", data, "-l", join(dir, "log"), "-o", opts, "-w", ...args]);
  await asOwner(join(PG_BIN, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
  await ctl("start");
  return {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    restart: () => ctl("-m", "fast", "restart"),
    async destroy() {
      await ctl("-m", "immediate", "stop").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
