import type { QueueConnection } from "../queues/connection";
import type { DataSource } from "typeorm";
import { withTimeout } from "./with-timeout";

/** Outcome of one readiness check. */
export type CheckState = "ok" | "failed" | "pending" | "skipped";

/** What `/readyz` reports: one state per dependency, never a connection string or error text. */
export interface ReadinessReport {
  ready: boolean;
  checks: { postgres: CheckState; migrations: CheckState; redis: CheckState };
}

/** How long one check may take before it counts as failed. (Default: 2000 ms) */
export const READINESS_TIMEOUT_MS = 2000;

/** PINGs Redis, first waiting (within the bound) for a connection that is still being made. */
async function pingRedis(redis: QueueConnection, timeoutMs: number): Promise<string> {
  if (redis.status !== "ready") {
    if (redis.status === "end" || redis.status === "close") throw new Error("redis connection closed");
    let onReady: (() => void) | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve) => {
          onReady = resolve;
          redis.once("ready", onReady);
        }),
        timeoutMs,
      );
    } finally {
      if (onReady) redis.off("ready", onReady);
    }
  }
  return await withTimeout(redis.ping(), timeoutMs);
}

/**
 * Names of migrations the code knows but the database has not applied. Read-only, unlike
 * TypeORM's `showMigrations`, which creates the migrations table as a side effect.
 */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const known = ds.migrations.map((m) => m.name ?? m.constructor.name);
  const table = ds.options.migrationsTableName ?? "migrations";
  const [present] = (await ds.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [table])) as Array<{ present: boolean }>;
  if (!present?.present) return known;
  const rows = (await ds.query(`SELECT name FROM "${table.replace(/"/g, '""')}"`)) as Array<{ name: string }>;
  const applied = new Set(rows.map((r) => r.name));
  return known.filter((name) => !applied.has(name));
}

/** Checks Postgres (`SELECT 1`), applied migrations and Redis (`PING`), each with a time bound. */
export async function checkReadiness(ds: DataSource, redis: QueueConnection, timeoutMs = READINESS_TIMEOUT_MS): Promise<ReadinessReport> {
  const checks: ReadinessReport["checks"] = { postgres: "failed", migrations: "skipped", redis: "failed" };
  const pg = (async () => {
    if (!ds.isInitialized) return;
    await withTimeout(ds.query("SELECT 1"), timeoutMs);
    checks.postgres = "ok";
    checks.migrations = (await withTimeout(pendingMigrations(ds), timeoutMs)).length === 0 ? "ok" : "pending";
  })().catch(() => {
    if (checks.postgres === "ok") checks.migrations = "failed";
  });
  const rd = pingRedis(redis, timeoutMs).then(
    (pong) => {
      if (pong === "PONG") checks.redis = "ok";
    },
    () => undefined,
  );
  await Promise.all([pg, rd]);
  return { ready: checks.postgres === "ok" && checks.migrations === "ok" && checks.redis === "ok", checks };
}
