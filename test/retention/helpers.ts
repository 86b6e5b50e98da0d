import { Queue } from "bullmq";
import { Client } from "pg";
import type { RetentionPolicyInput } from "../../src/datamap/retention-policy";
import type { RetentionRunStatus } from "../../src/db/entities/retention-run";
import { QUEUES } from "../../src/queues/names";
import { getRunView, triggerRun, type RetentionRunView } from "../../src/retention/runs";
import type { RawDataMap } from "../helpers/data-maps";
import type { LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";

/** A policy as written in a data map (input shape: defaults may be left out). */
export type PolicyInput = Omit<RetentionPolicyInput, "schedule" | "purpose" | "legalBasis"> &
  Partial<Pick<RetentionPolicyInput, "purpose" | "legalBasis">> & { schedule?: { cron: string; tz?: string } };

/** A cron pattern that never fires during a test run (once a year, at new year). */
export const NEVER = { cron: "0 0 1 1 *", tz: "UTC" } as const;

/** Adds `policies` to a raw data map (for `createHarness({ editMap })`). */
export function withPolicies(...policies: PolicyInput[]): (raw: RawDataMap) => void {
  return (raw) => {
    raw.retention = policies.map((p) => ({ schedule: NEVER, purpose: "test", legalBasis: "Art. 6(1)(b)", ...p }));
  };
}

/** Rows of a query against `url`. */
export async function query<T extends Record<string, unknown> = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The retention queue of a harness (closed by the caller). */
export function retentionQueue(h: LetheHarness): Queue {
  return new Queue(QUEUES.retention, { connection: h.redis, prefix: h.config.queuePrefix });
}

/** Polls a run until its status is one of `statuses`. */
export async function waitForRun(
  h: LetheHarness,
  id: string,
  statuses: RetentionRunStatus[] = ["completed", "failed"],
  timeoutMs = 60_000,
): Promise<RetentionRunView> {
  let last: RetentionRunView | null = null;
  try {
    return await waitFor(
      async () => {
        last = await getRunView(h.ds, id);
        return last && statuses.includes(last.status) ? last : undefined;
      },
      `run ${id} to be ${statuses.join("/")}`,
      timeoutMs,
      50,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Triggers a run of `policy` as the test and waits for it to complete; throws with the run's error when it fails. */
export async function sweep(h: LetheHarness, queue: Queue, policy: string, opts: { dryRun?: boolean } = {}): Promise<RetentionRunView> {
  const run = await triggerRun({ ds: h.ds, config: h.config, dataMap: h.dataMap, queue }, policy, { dryRun: opts.dryRun ?? false, requestedBy: "test" });
  const done = await waitForRun(h, run.id);
  if (done.status !== "completed") throw new Error(`run ${run.id} of ${policy} failed: ${JSON.stringify(done.error)}`);
  return done;
}

/** The run's audit entries. */
export async function auditOf(h: LetheHarness, runId: string): Promise<Array<{ event: string; detail: Record<string, unknown> }>> {
  return (await h.ds.query(`SELECT event, detail FROM lethe.audit_log WHERE detail->>'runId' = $1 ORDER BY id`, [runId])) as Array<{
    event: string;
    detail: Record<string, unknown>;
  }>;
}
