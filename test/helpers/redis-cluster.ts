import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { trackHandle } from "./open-handles";
import { waitFor } from "./wait";

/**
 * A real Redis Cluster on loopback for one test file: `masters` redis-server processes started
 * with `--cluster-enabled yes` in their own temp directory, joined by `redis-cli --cluster
 * create … --cluster-replicas 0`, no persistence. `stop()` ends the processes and removes the
 * directory; the leak guard fails the file if it is not called.
 */
export interface RedisCluster {
  /** `host:port` of each master, in start order (REDIS_CLUSTER_NODES). */
  nodes: string[];
  /** `redis://127.0.0.1:<port>` of the first master (a seed for a cluster store). */
  url: string;
  /** A plain connection to each master (closed by `stop()`). */
  masters: Redis[];
  stop(): Promise<void>;
}

/** True when something can listen on `port` of 127.0.0.1 now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (+10000) is free too; picked at random below 55535. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

/** Starts the cluster and waits until every node reports `cluster_state:ok` with `masters` masters. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "lethe-redis-cluster-"));
  const procs: ChildProcess[] = [];
  const conns: Redis[] = [];
  const forget = trackHandle("redis cluster", `in ${dir}`);
  const stop = async (): Promise<void> => {
    for (const c of conns.splice(0)) await c.quit().catch(() => c.disconnect());
    await Promise.all(
      procs.splice(0).map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const timer = setTimeout(() => p.kill("SIGKILL"), 5000);
            p.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            p.kill("SIGTERM");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    forget();
  };
  try {
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      taken.add(port + 10_000);
      ports.push(port);
      const proc = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "5000",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--daemonize",
          "no",
        ],
        { stdio: "ignore" },
      );
      procs.push(proc);
    }
    for (const port of ports) {
      const c = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 50 ? null : 100) });
      conns.push(c);
      await waitFor(async () => ((await c.ping().catch(() => null)) === "PONG" ? true : undefined), `redis-server on ${port}`, 15_000, 50);
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    const created = spawnSync("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitFor(
      async () => {
        for (const c of conns) {
          const info = await c.cluster("INFO");
          if (!/cluster_state:ok/.test(info) || !new RegExp(`cluster_known_nodes:${masters}\\b`).test(info)) return undefined;
          const slots = (await c.cluster("SLOTS")) as unknown[];
          if (slots.length < masters) return undefined;
        }
        return true;
      },
      "the Redis Cluster to be ok on every node",
      30_000,
      100,
    );
    return { nodes, url: `redis://${nodes[0]}`, masters: conns, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
