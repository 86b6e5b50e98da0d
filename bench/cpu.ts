/**
 * CPU time of the processes in a benchmark, read from /proc (Linux): a child's, the bench
 * process's own, and the Postgres backends serving given databases. Lets a bench say where the
 * CPU of one operation goes (worker, API and load generator, Postgres) besides its throughput.
 */
import { readFileSync } from "node:fs";
import type { Client } from "pg";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Command name and user + system CPU time so far (ms) of process `pid`; null when it is gone. */
export function processStat(pid: number): { comm: string; cpuMs: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return null;
  }
}

/** User + system CPU time of process `pid` so far, in ms (0 when it is gone). */
export function processCpuMs(pid: number): number {
  return processStat(pid)?.cpuMs ?? 0;
}

/** CPU seconds the whole machine has been busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...jiffies] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = jiffies;
  return ((user + nice + system + irq + softirq + steal) * TICK_MS) / 1000;
}

/** CPU time of this process so far, in ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * A meter of the CPU the Postgres backends of `databases` use between {@link start} and
 * {@link stop}: backends that exist at either moment are read (one that came and went between
 * the two is missed, so the figure is a lower bound).
 */
export function postgresCpuMeter(client: Client, databases: string[]): { start: () => Promise<void>; stop: () => Promise<number> } {
  const before = new Map<number, number>();
  const pids = async (): Promise<number[]> =>
    (await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()`, [databases])).rows.map(
      (r) => r.pid,
    );
  return {
    start: async () => {
      for (const pid of await pids()) before.set(pid, processCpuMs(pid));
    },
    stop: async () => {
      let total = 0;
      for (const pid of await pids()) total += processCpuMs(pid) - (before.get(pid) ?? 0);
      return total;
    },
  };
}
