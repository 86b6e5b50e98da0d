import { CronExpressionParser } from "cron-parser";
import type { DataMap } from "../datamap/schema";
import { describeAge } from "../datamap/retention-policy";
import { policyRunStats } from "../db/tables/retention-run";
import type { Sql } from "../db/tables/sql";
import { toRunView, type RetentionRunView } from "../retention/runs";

/** Days of failed runs a policy's `failures` counts. (Default: 30) */
export const FAILURE_WINDOW_DAYS = 30;

/** One retention policy as the console and `GET /v1/retention/policies` show it. Names and counts only. */
export interface RetentionPolicyOverview {
  name: string;
  store: string;
  table: string;
  action: "anonymize" | "delete";
  /** The age in words and its cutoff: an ISO 8601 period (`olderThan`) or an instant (`before`). */
  age: string;
  olderThan: string | null;
  before: string | null;
  purpose: string;
  legalBasis: string;
  schedule: { cron: string; tz: string };
  /** The schedule's next fire time after now. */
  nextRunAt: string | null;
  /** The latest real (not dry) run: rows changed, longest batch, outcome. */
  lastRun: RetentionRunView | null;
  /** Real runs that failed in the last {@link FAILURE_WINDOW_DAYS} days. */
  failures: number;
}

/** The next fire time of a cron pattern in a time zone, or null when it has none. */
export function nextFire(cron: string, tz: string, now: Date): Date | null {
  try {
    return CronExpressionParser.parse(cron, { tz, currentDate: now }).next().toDate();
  } catch {
    return null;
  }
}

/** Every policy of the map, in map order, with its last real run, failures and next run. */
export async function retentionOverview(ds: Sql, dataMap: DataMap, now: Date): Promise<RetentionPolicyOverview[]> {
  const stats = new Map((await policyRunStats(ds, FAILURE_WINDOW_DAYS)).map((s) => [s.policy, s]));
  return dataMap.retention.map((p) => {
    const s = stats.get(p.name);
    return {
      name: p.name,
      store: p.store,
      table: p.table,
      action: p.action,
      age: describeAge(p.age),
      olderThan: p.age.olderThan ?? null,
      before: p.age.before ?? null,
      purpose: p.purpose,
      legalBasis: p.legalBasis,
      schedule: { cron: p.schedule.cron, tz: p.schedule.tz },
      nextRunAt: nextFire(p.schedule.cron, p.schedule.tz, now)?.toISOString() ?? null,
      lastRun: s?.last ? toRunView(s.last) : null,
      failures: s?.failures ?? 0,
    };
  });
}
