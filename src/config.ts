import { existsSync, readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";

/**
 * Scopes an API key can carry. `admin` implies every other scope and opens the dashboard; `dpo`
 * takes the controller's decisions (extensions, refusals, approvals, objection decisions, lifting
 * restrictions, recipients settled by hand; incident decisions); `holds.write` creates and releases
 * legal holds; `console.read` reads the compliance console and its list endpoints; `operate` retries
 * failed work; `opendsr` is for other controllers' OpenDSR tools.
 */
export const API_SCOPES = [
  "requests.write",
  "requests.read",
  "admin",
  "incidents.write",
  "incidents.read",
  "dpo",
  "holds.write",
  "console.read",
  "operate",
  "opendsr",
] as const;
/** One scope of {@link API_SCOPES}. */
export type ApiScope = (typeof API_SCOPES)[number];

/** One configured API key: its name (for the audit log), the secret, and its scopes. */
export interface ApiKey {
  name: string;
  key: string;
  scopes: ReadonlySet<ApiScope>;
}

const keyMaterial = (name: string) =>
  z.string({ error: `${name} is required` }).transform((v, ctx) => {
    const buf = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64");
    if (buf.length !== 32) {
      ctx.addIssue({ code: "custom", message: `${name} must be 32 bytes, as 64 hex characters or base64` });
      return z.NEVER;
    }
    return buf;
  });

const apiKeys = z.string({ error: "LETHE_API_KEYS is required" }).transform((raw, ctx): ApiKey[] => {
  const keys: ApiKey[] = [];
  for (const entry of raw
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, key, scopeList] = entry.split(":");
    if (!name || !key || !scopeList) {
      ctx.addIssue({ code: "custom", message: "each entry must be name:key:scope|scope (entries separated by ;)" });
      return z.NEVER;
    }
    if (key.length < 16) {
      ctx.addIssue({ code: "custom", message: `key of "${name}" must be at least 16 characters` });
      return z.NEVER;
    }
    const scopes = scopeList.split("|").map((s) => s.trim());
    const bad = scopes.find((s) => !(API_SCOPES as readonly string[]).includes(s));
    if (bad !== undefined) {
      ctx.addIssue({ code: "custom", message: `unknown scope "${bad}" for "${name}" (known: ${API_SCOPES.join(", ")})` });
      return z.NEVER;
    }
    keys.push({ name, key, scopes: new Set(scopes as ApiScope[]) });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: "custom", message: "at least one API key is required" });
    return z.NEVER;
  }
  return keys;
});

/** An empty variable (`VAR=` in an env file) counts as unset. */
const emptyAsUnset = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema);

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const ENV_SCHEMA = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" }).default("postgres://postgres@127.0.0.1:5432/lethe"),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// URL" }).default("redis://127.0.0.1:6379"),
  REDIS_CLUSTER_NODES: emptyAsUnset(
    z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, "must be host:port[,host:port…]")
      .optional(),
  ),
  LETHE_DATA_MAP: z.string().min(1).default("./lethe.config.json"),
  LETHE_ENCRYPTION_KEY: keyMaterial("LETHE_ENCRYPTION_KEY"),
  LETHE_HMAC_KEY: keyMaterial("LETHE_HMAC_KEY"),
  LETHE_API_KEYS: apiKeys,
  LETHE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]+$/, "letters, digits, _ - { } only")
    .default("lethe"),
  HOST: z.string().default("127.0.0.1"),
  PORT: int(8080, 0),
  LETHE_BODY_LIMIT_BYTES: int(16 * 1024, 256),
  LETHE_WORKER_CONCURRENCY: int(8, 1),
  LETHE_ERASE_CONNECTIONS: int(4, 1),
  LETHE_JOB_ATTEMPTS: int(8, 1),
  LETHE_BACKOFF_MS: int(1000, 1),
  LETHE_RECONCILE_EVERY_MS: int(30_000, 100),
  LETHE_SHUTDOWN_TIMEOUT_MS: int(10_000, 0),
  LETHE_START_TIMEOUT_MS: int(10_000, 0),
  LETHE_HEARTBEAT_FILE: emptyAsUnset(z.string().min(1).optional()),
  LETHE_AUDIT_SEAL_EVERY_MS: int(2000, 100),
  LETHE_LOCK_DURATION_MS: int(30_000, 500),
  LETHE_FAILED_IDENTITIES_TTL_HOURS: int(168, 0),
  LETHE_CALLBACK_URL: emptyAsUnset(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional()),
  LETHE_CALLBACK_SECRET: emptyAsUnset(z.string().min(16, "must be at least 16 characters").optional()),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).default("smtp://127.0.0.1:1025"),
  LETHE_MAIL_FROM: z.string().min(3).default("Lethe <lethe@localhost>"),
  LETHE_MAIL_TEMPLATES_DIR: z.string().min(1).optional(),
  LETHE_SMTP_RATE_PER_S: z.coerce.number().positive().default(10),
  LETHE_PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).default("http://127.0.0.1:8080"),
  LETHE_EXPORT_DIR: z.string().min(1).default("./var/exports"),
  LETHE_EXPORT_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(168),
  LETHE_EXPORT_SINGLE_USE: z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).default("false"),
  LETHE_EXPORT_CONCURRENCY: int(2, 1),
  LETHE_DASHBOARD_WRITE: z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).default("false"),
  LETHE_SMTP_RETRY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 14)
    .default(24),
  LETHE_EXPORT_PURGE_EVERY_MS: int(60_000, 100),
  LETHE_BREACH_BODY_LIMIT_BYTES: int(32 * 1024 * 1024, 1024),
  LETHE_BREACH_STATEMENT_TIMEOUT_MS: int(120_000, 1000),
  LETHE_BREACH_CONTACT_WIPE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 365)
    .default(24),
  LETHE_BREACH_UNDELIVERABLE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.05),
  LETHE_BREACH_TICK_EVERY_MS: int(60_000, 100),
  LETHE_SMTP_THROTTLE_MS: int(60_000, 10),
  LETHE_MAIL_CONCURRENCY: int(3, 1),
  LETHE_LEFTOVER_AUDIT_CRON: z
    .string()
    .regex(/^$|^off$|^(\S+\s+){4}\S+$/, "must be a five-field cron pattern, or off")
    .default("0 4 * * *"),
  LETHE_OPENDSR_KEY_FILE: emptyAsUnset(z.string().min(1).optional()),
  LETHE_OPENDSR_CERT_FILE: emptyAsUnset(z.string().min(1).optional()),
  LETHE_OPENDSR_DOMAIN: emptyAsUnset(
    z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a lower-case domain name")
      .optional(),
  ),
  LETHE_OPENDSR_SYNC_EVERY_MS: int(5000, 100),
});

/** The resolved, frozen configuration. Read once at start-up by {@link loadConfig}. */
export type Config = Readonly<{
  databaseUrl: string;
  redisUrl: string;
  /**
   * Seed nodes of a Redis Cluster for Lethe's own queues (REDIS_CLUSTER_NODES); the other nodes
   * are discovered, credentials come from `redisUrl`. Absent: the single Redis at `redisUrl`.
   */
  redisClusterNodes: ReadonlyArray<{ host: string; port: number }> | undefined;
  dataMapPath: string;
  encryptionKey: Buffer;
  hmacKey: Buffer;
  apiKeys: readonly ApiKey[];
  queuePrefix: string;
  host: string;
  port: number;
  bodyLimitBytes: number;
  workerConcurrency: number;
  /** Connections per application Postgres store that carry compiled erasures (each sets the erasure up once). */
  eraseConnections: number;
  jobAttempts: number;
  backoffMs: number;
  reconcileEveryMs: number;
  shutdownTimeoutMs: number;
  /** A file `lethe worker` rewrites every 10 s while Postgres and Redis answer (for a healthcheck); none when unset. */
  heartbeatFile: string | null;
  /** How long a starting process waits for Postgres and Redis before it exits naming the variable. (Default: 10000) */
  startTimeoutMs: number;
  /** How often new audit rows are sealed into the hash chain. (Default: 2000) */
  auditSealEveryMs: number;
  /** How long a worker holds a job's lock before another may take a stalled job. (Default: 30000) */
  lockDurationMs: number;
  /** How long a failed request keeps its sealed identities for a retry before they are wiped. (Default: 168) */
  failedIdentitiesTtlHours: number;
  /** Where the application is told a request completed or failed (signed POST); none when unset. */
  callbackUrl: string | undefined;
  /** Secret that signs those calls. */
  callbackSecret: string | undefined;
  logLevel: string;
  /** SMTP server for subject mail; one pooled transport per worker process. (Default: smtp://127.0.0.1:1025) */
  smtpUrl: string;
  /** `From:` of subject mail. (Default: Lethe <lethe@localhost>) */
  mailFrom: string;
  /** Directory whose `export.subject.txt`, `export.txt`, `export.html` replace the built-in mail templates. */
  mailTemplatesDir: string | null;
  /** Messages per second the mail queue may send (BullMQ limiter), matched to the SMTP quota. (Default: 10) */
  smtpRatePerS: number;
  /** Base URL of the API as subjects reach it; download links start with it. (Default: http://127.0.0.1:8080) */
  publicUrl: string;
  /** Absolute directory of export zips (mode 0600), shared by worker and API. (Default: ./var/exports) */
  exportDir: string;
  /** How long a download link (and its file) lives, in hours. (Default: 168) */
  exportTtlHours: number;
  /** A download link works once. (Default: false: link scanners in mail systems would use it up) */
  exportSingleUse: boolean;
  /** Exports each worker process builds at the same time. (Default: 2) */
  exportConcurrency: number;
  /** The queue dashboard may change jobs (retry, clean, pause, delete); otherwise it is read-only. (Default: false) */
  dashboardWrite: boolean;
  /** How long a message is retried while the SMTP server is unreachable or deferring, in hours. (Default: 24) */
  smtpRetryHours: number;
  /** How often expired export files are deleted, in ms. (Default: 60000) */
  exportPurgeEveryMs: number;
  /** Largest body of the breach routes (an uploaded list of keys or identities), in bytes. (Default: 32 MiB) */
  breachBodyLimitBytes: number;
  /** Statement timeout of the read-only transaction that finds the people of a breach scope, in ms. (Default: 120000) */
  breachStatementTimeoutMs: number;
  /** Hours after an incident closes before the sealed contacts of its affected people are wiped. (Default: 24) */
  breachContactWipeHours: number;
  /** Share of undeliverable notices above which an incident advises a public notice (Art. 34(3)(c)). (Default: 0.05) */
  breachUndeliverableThreshold: number;
  /** How often the breach clock ticks (marks, fan-out completion, contact wipes), in ms. (Default: 60000) */
  breachTickEveryMs: number;
  /** How long the mail queue pauses after the SMTP server throttles (421, 454), in ms. (Default: 60000) */
  smtpThrottleMs: number;
  /** Mail jobs each worker process runs at once, over the pooled SMTP connections. (Default: 3) */
  mailConcurrency: number;
  /** When the scheduled leftover audit runs (cron, UTC), or null when off. (Default: `0 4 * * *`, daily) */
  leftoverAuditCron: string | null;
  /**
   * Lethe as an OpenDSR processor (`/opendsr/v2`): the PEM files of the signing key and its
   * certificate (chain), and the domain the certificate is issued for (Default: the host of
   * LETHE_PUBLIC_URL). Null when the key and certificate are not configured: the routes answer 404.
   */
  opendsr: { keyFile: string; certFile: string; domain: string } | null;
  /** How often OpenDSR status changes are looked for and their callbacks enqueued, in ms. (Default: 5000) */
  opendsrSyncEveryMs: number;
}>;

/** A configuration problem, naming every offending variable and its rule. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses the environment once. Throws {@link ConfigError} listing every bad or missing
 * variable by name; the values themselves are never echoed (they may be secrets).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ENV_SCHEMA.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  if (Boolean(e.LETHE_OPENDSR_KEY_FILE) !== Boolean(e.LETHE_OPENDSR_CERT_FILE)) {
    throw new ConfigError("invalid configuration:\n  LETHE_OPENDSR_KEY_FILE, LETHE_OPENDSR_CERT_FILE: set both or neither");
  }
  if (e.REDIS_CLUSTER_NODES && !/\{[^{}]+\}/.test(e.LETHE_QUEUE_PREFIX)) {
    // BullMQ keeps each queue's keys in one slot only through a hash tag in the prefix.
    throw new ConfigError("invalid configuration:\n  LETHE_QUEUE_PREFIX: must contain a hash tag such as {lethe} when REDIS_CLUSTER_NODES is set");
  }
  if (e.LETHE_CALLBACK_URL && !e.LETHE_CALLBACK_SECRET) {
    throw new ConfigError("invalid configuration:\n  LETHE_CALLBACK_SECRET: is required when LETHE_CALLBACK_URL is set");
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES
      ? Object.freeze(
          e.REDIS_CLUSTER_NODES.split(",").map((n) => {
            const i = n.lastIndexOf(":");
            return Object.freeze({ host: n.slice(0, i), port: Number(n.slice(i + 1)) });
          }),
        )
      : undefined,
    dataMapPath: e.LETHE_DATA_MAP,
    encryptionKey: e.LETHE_ENCRYPTION_KEY,
    hmacKey: e.LETHE_HMAC_KEY,
    apiKeys: Object.freeze(e.LETHE_API_KEYS),
    queuePrefix: e.LETHE_QUEUE_PREFIX,
    host: e.HOST,
    port: e.PORT,
    bodyLimitBytes: e.LETHE_BODY_LIMIT_BYTES,
    workerConcurrency: e.LETHE_WORKER_CONCURRENCY,
    eraseConnections: e.LETHE_ERASE_CONNECTIONS,
    jobAttempts: e.LETHE_JOB_ATTEMPTS,
    backoffMs: e.LETHE_BACKOFF_MS,
    reconcileEveryMs: e.LETHE_RECONCILE_EVERY_MS,
    shutdownTimeoutMs: e.LETHE_SHUTDOWN_TIMEOUT_MS,
    startTimeoutMs: e.LETHE_START_TIMEOUT_MS,
    heartbeatFile: e.LETHE_HEARTBEAT_FILE ? resolvePath(e.LETHE_HEARTBEAT_FILE) : null,
    auditSealEveryMs: e.LETHE_AUDIT_SEAL_EVERY_MS,
    lockDurationMs: e.LETHE_LOCK_DURATION_MS,
    failedIdentitiesTtlHours: e.LETHE_FAILED_IDENTITIES_TTL_HOURS,
    callbackUrl: e.LETHE_CALLBACK_URL,
    callbackSecret: e.LETHE_CALLBACK_SECRET,
    logLevel: e.LOG_LEVEL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.LETHE_MAIL_FROM,
    mailTemplatesDir: e.LETHE_MAIL_TEMPLATES_DIR ? resolvePath(e.LETHE_MAIL_TEMPLATES_DIR) : null,
    smtpRatePerS: e.LETHE_SMTP_RATE_PER_S,
    publicUrl: e.LETHE_PUBLIC_URL.replace(/\/+$/, ""),
    exportDir: resolvePath(e.LETHE_EXPORT_DIR),
    exportTtlHours: e.LETHE_EXPORT_TTL_HOURS,
    exportSingleUse: e.LETHE_EXPORT_SINGLE_USE === "true" || e.LETHE_EXPORT_SINGLE_USE === "1",
    exportConcurrency: e.LETHE_EXPORT_CONCURRENCY,
    dashboardWrite: e.LETHE_DASHBOARD_WRITE === "true" || e.LETHE_DASHBOARD_WRITE === "1",
    smtpRetryHours: e.LETHE_SMTP_RETRY_HOURS,
    exportPurgeEveryMs: e.LETHE_EXPORT_PURGE_EVERY_MS,
    breachBodyLimitBytes: e.LETHE_BREACH_BODY_LIMIT_BYTES,
    breachStatementTimeoutMs: e.LETHE_BREACH_STATEMENT_TIMEOUT_MS,
    breachContactWipeHours: e.LETHE_BREACH_CONTACT_WIPE_HOURS,
    breachUndeliverableThreshold: e.LETHE_BREACH_UNDELIVERABLE_THRESHOLD,
    breachTickEveryMs: e.LETHE_BREACH_TICK_EVERY_MS,
    smtpThrottleMs: e.LETHE_SMTP_THROTTLE_MS,
    mailConcurrency: e.LETHE_MAIL_CONCURRENCY,
    leftoverAuditCron: e.LETHE_LEFTOVER_AUDIT_CRON === "" || e.LETHE_LEFTOVER_AUDIT_CRON === "off" ? null : e.LETHE_LEFTOVER_AUDIT_CRON,
    opendsr:
      e.LETHE_OPENDSR_KEY_FILE && e.LETHE_OPENDSR_CERT_FILE
        ? Object.freeze({
            keyFile: resolvePath(e.LETHE_OPENDSR_KEY_FILE),
            certFile: resolvePath(e.LETHE_OPENDSR_CERT_FILE),
            domain: e.LETHE_OPENDSR_DOMAIN ?? new URL(e.LETHE_PUBLIC_URL).hostname,
          })
        : null,
    opendsrSyncEveryMs: e.LETHE_OPENDSR_SYNC_EVERY_MS,
  });
}

/** The env file read when present: `LETHE_ENV_FILE`, else `.env` in the working directory. */
export function envFilePath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolvePath(cwd, env.LETHE_ENV_FILE ?? ".env");
}

/**
 * Reads the env file (see {@link envFilePath}) into `env` when it exists: a variable already set
 * in the real environment wins. Returns the file read, or null when there was none. Shell syntax
 * is accepted (`KEY=value`, quoted values, comments); nothing is executed.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const file = envFilePath(env, cwd);
  if (!existsSync(file)) return null;
  const parsed = parseEnv(readFileSync(file, "utf8"));
  for (const [key, value] of Object.entries(parsed)) if (env[key] === undefined && value !== undefined) env[key] = value;
  return file;
}
