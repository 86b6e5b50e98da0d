import type { TsChild } from "./child-process";
import type { LetheHarness } from "./harness";
import { waitFor } from "./wait";

/** A backend of database `db` waiting on a lock, running a query that matches `like` (ILIKE): its pid. */
export async function blockedBackend(h: LetheHarness, db: string, like: string, child: TsChild, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`worker exited early (${child.proc.exitCode}): ${child.stderr()}`);
      const rows = (await h.ds.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query ILIKE $2`, [
        db,
        like,
      ])) as Array<{ pid: number }>;
      return rows[0]?.pid;
    },
    `a worker backend blocked on "${like}"`,
    timeoutMs,
    50,
  );
}

/** Waits until the backend `pid` has ended (after its client died or was terminated). */
export async function backendGone(h: LetheHarness, pid: number): Promise<void> {
  await waitFor(
    async () => ((await h.ds.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).length === 0 ? true : undefined),
    `backend ${pid} to end`,
    30_000,
    50,
  );
}

/** SIGKILLs a worker child and checks it died of it. */
export async function killHard(child: TsChild): Promise<void> {
  child.proc.kill("SIGKILL");
  expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
}
