import type { Logger } from "../src/logger";
import { reconcileRequests } from "../src/erasure/reconcile-requests";
import { BREACH_TICK } from "../src/queues/jobs/breach-tick";
import { AUDIT_LEFTOVERS } from "../src/queues/jobs/audit-leftovers";
import { PURGE_EXPORTS } from "../src/queues/jobs/purge-exports";
import { OPENDSR_SYNC } from "../src/queues/jobs/opendsr-sync";
import { RECONCILE } from "../src/queues/jobs/reconcile";
import { SEAL_AUDIT } from "../src/queues/jobs/seal-audit";
import { reconcileRuns } from "../src/retention/reconcile-runs";
import { syncSchedules } from "../src/retention/schedules";
import type { Services } from "../src/services";

/** Stops a schedule's timer. */
export type StopSchedule = () => void;

/**
 * Keeps the maintenance queue's job schedulers (reconcile, seal-audit, purge-exports, breach-tick, the
 * leftover audit unless `LETHE_LEFTOVER_AUDIT_CRON` is off, opendsr-sync when OpenDSR is configured) in Redis:
 * upserted now and again every reconcile interval, so even a Redis that lost everything gets them
 * back; runs one reconcile pass right away.
 */
export async function keepMaintenanceSchedules(services: Services, logger: Logger): Promise<StopSchedule> {
  const { config, queues } = services;
  const schedule = () =>
    Promise.all([
      RECONCILE.schedule(queues.maintenance, RECONCILE.name, { every: config.reconcileEveryMs }, config, {}),
      SEAL_AUDIT.schedule(queues.maintenance, SEAL_AUDIT.name, { every: config.auditSealEveryMs }, config, {}),
      PURGE_EXPORTS.schedule(queues.maintenance, PURGE_EXPORTS.name, { every: config.exportPurgeEveryMs }, config, {}),
      BREACH_TICK.schedule(queues.maintenance, BREACH_TICK.name, { every: config.breachTickEveryMs }, config, {}),
      config.leftoverAuditCron
        ? AUDIT_LEFTOVERS.schedule(queues.maintenance, AUDIT_LEFTOVERS.name, { pattern: config.leftoverAuditCron, tz: "UTC" }, config, {})
        : queues.maintenance.removeJobScheduler(AUDIT_LEFTOVERS.name),
      config.opendsr
        ? OPENDSR_SYNC.schedule(queues.maintenance, OPENDSR_SYNC.name, { every: config.opendsrSyncEveryMs }, config, {})
        : queues.maintenance.removeJobScheduler(OPENDSR_SYNC.name),
    ]);
  await schedule();
  await reconcileRequests(services, logger.child({ job: RECONCILE.name }));
  const timer = setInterval(() => {
    schedule().catch((err: unknown) => logger.warn({ err }, "could not upsert the maintenance schedules"));
  }, config.reconcileEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Keeps the retention queue's schedules: one job scheduler per policy (and none for policies
 * that left the data map), and re-enqueues unfinished runs whose job is gone — now, and again
 * every reconcile interval. A failure now fails the start; later ones are logged and retried.
 */
export async function keepRetentionSchedules(services: Services, logger: Logger): Promise<StopSchedule> {
  const { ds, config, dataMap, queues } = services;
  const tick = async (): Promise<void> => {
    const synced = await syncSchedules(queues.retention, dataMap, config);
    if (synced.removed.length > 0) logger.info({ removed: synced.removed }, "removed the schedules of retention policies no longer in the data map");
    const reconciled = await reconcileRuns(ds, queues.retention, config);
    if (reconciled.enqueued + reconciled.failed > 0) logger.info({ ...reconciled }, "reconciled retention runs");
  };
  await tick();
  const timer = setInterval(() => {
    tick().catch((err: unknown) => logger.warn({ err }, "retention schedule sync or run reconcile failed; retrying next interval"));
  }, config.reconcileEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
