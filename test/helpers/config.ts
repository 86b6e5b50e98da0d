import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/config";

/** API keys every test config carries. */
export const TEST_KEYS = {
  writer: "test-writer-key-0000000001",
  reader: "test-reader-key-0000000002",
  admin: "test-admin-key-00000000003",
  /** Creates and releases legal holds (`holds.write`), reads requests. */
  holds: "test-holds-key-00000000004",
} as const;

/** A config for one test: its own queue prefix (so queues never collide), given DB and data map. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres",
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read;ro:${TEST_KEYS.reader}:requests.read;ops:${TEST_KEYS.admin}:admin;legal:${TEST_KEYS.holds}:holds.write|requests.read`,
    LETHE_QUEUE_PREFIX: `lt${randomBytes(4).toString("hex")}`,
    LETHE_BACKOFF_MS: "100",
    LETHE_RECONCILE_EVERY_MS: "1000",
    LETHE_LEFTOVER_AUDIT_CRON: "off",
    LOG_LEVEL: "silent",
    ...env,
  });
}
