import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

/**
 * Retention policies of the data map (Art. 5(1)(e), storage limitation): which rows of which
 * table are anonymized or deleted once they are older than a period, on which schedule. Only
 * structured conditions: no SQL text ever comes from the map. Checked against the live schema
 * by `lethe check` (see `retention/check-policies`).
 */

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be a plain SQL identifier (letters, digits, _ and $; not starting with a digit)");

/** An ISO 8601 duration Postgres reads as an interval: `P3Y`, `P18M`, `P2W`, `P1Y6M`, `PT36H`. */
export const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** Default rows per batch of a sweep (Default: 10000). */
export const DEFAULT_BATCH_SIZE = 10_000;

/** Comparison operators an extra condition may use; a closed set. */
export const CONDITION_OPS = ["=", "<>", "<", "<=", ">", ">=", "in", "is null", "is not null"] as const;
/** The operators that compare one value. */
export const COMPARE_OPS = ["=", "<>", "<", "<=", ">", ">="] as const;
/** The ordering operators among {@link COMPARE_OPS} (not for booleans). */
export const ORDER_OPS: readonly string[] = ["<", "<=", ">", ">="];
/** One of {@link CONDITION_OPS}. */
export type ConditionOp = (typeof CONDITION_OPS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** An extra condition on one column, e.g. `{ "column": "status", "op": "=", "value": "closed" }`. Values are bound as parameters. */
export const CONDITION_SCHEMA = z.discriminatedUnion("op", [
  z.object({ column: identifier, op: z.enum(COMPARE_OPS), value: scalar }).strict(),
  z.object({ column: identifier, op: z.literal("in"), value: z.array(scalar).min(1, "give at least one value") }).strict(),
  z.object({ column: identifier, op: z.enum(["is null", "is not null"]) }).strict(),
]);
/** An extra condition. */
export type Condition = z.infer<typeof CONDITION_SCHEMA>;

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `<table>.<column>` of a linked table, e.g. `"orders.created_at"`. */
const TABLE_COLUMN = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, 'must be <table>.<column> of a linked table, e.g. "orders.created_at"');

/** One age source: a column of the swept table, or the latest / earliest value of a column of a linked table. */
export const AGE_SOURCE_SCHEMA = z.union([
  z.object({ column: identifier }).strict(),
  z.object({ max: TABLE_COLUMN }).strict(),
  z.object({ min: TABLE_COLUMN }).strict(),
]);
/** An age source. */
export type AgeSource = z.infer<typeof AGE_SOURCE_SCHEMA>;

/** An ISO 8601 instant with a time zone (`2024-01-01T00:00:00Z`) or a date (`2024-01-01`, read as UTC midnight). */
const INSTANT = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO 8601 timestamp such as "2024-01-01T00:00:00Z" or a date' });

/**
 * The age of a row and its cutoff. Exactly one source (`column`, `max`, `min` or `greatest`) and
 * one cutoff (`olderThan` or `before`).
 */
export const AGE_SCHEMA = z
  .object({
    /** A date or timestamp column of the swept table, e.g. `"last_login_at"`. */
    column: identifier.optional(),
    /** The latest value of a column of a linked table: `"orders.created_at"` is "last order". */
    max: TABLE_COLUMN.optional(),
    /** The earliest value of a column of a linked table. */
    min: TABLE_COLUMN.optional(),
    /** The latest of several sources (NULLs ignored): "last activity" from a log-in and the last order. */
    greatest: z.array(AGE_SOURCE_SCHEMA).min(2, "give at least two sources").optional(),
    /** Relative cutoff: an ISO 8601 duration before the run's start (`P3Y`, `P18M`, `P90D`). */
    olderThan: z.string().regex(ISO_DURATION, 'must be an ISO 8601 duration such as "P3Y", "P18M" or "P90D"').optional(),
    /** Absolute cutoff: rows whose age is before this instant are due. */
    before: INSTANT.optional(),
    /**
     * A row with no age at all (NULL column, no linked rows): `skip` leaves it, `due` treats it as
     * due (e.g. a customer who never ordered). (Default: "skip")
     */
    missing: z.enum(["skip", "due"]).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const sources = (["column", "max", "min", "greatest"] as const).filter((k) => a[k] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: sources.length === 0 ? [] : [sources[1]!],
        message: `give exactly one age source: "column", "max", "min" or "greatest"${sources.length > 1 ? ` (not ${sources.join(" and ")})` : ""}`,
      });
    }
    if ((a.olderThan === undefined) === (a.before === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: a.olderThan === undefined ? [] : ["before"],
        message: 'give exactly one cutoff: "olderThan" (an ISO 8601 duration) or "before" (an ISO 8601 timestamp)',
      });
    }
  });
/** A validated age. */
export type Age = z.infer<typeof AGE_SCHEMA>;

/** The age's sources as a list (one, or the `greatest` list). */
export function ageSources(age: Age): AgeSource[] {
  if (age.greatest) return age.greatest;
  if (age.max !== undefined) return [{ max: age.max }];
  if (age.min !== undefined) return [{ min: age.min }];
  return [{ column: age.column! }];
}

/** A source in words, e.g. `last_login_at` or `the latest orders.created_at`. */
export function describeAgeSource(s: AgeSource): string {
  if ("column" in s) return s.column;
  if ("max" in s) return `the latest ${s.max}`;
  return `the earliest ${s.min}`;
}

/** The age in words (`last_login_at`, `the latest of last_login_at and the latest orders.created_at`). */
export function describeAge(age: Age): string {
  const sources = ageSources(age).map(describeAgeSource);
  return sources.length === 1 ? sources[0]! : `the latest of ${sources.join(" and ")}`;
}

const SCHEDULE_SCHEMA = z
  .object({
    /** Cron pattern as BullMQ reads it (5 fields, or 6 with seconds first), e.g. `"0 3 * * *"`. */
    cron: z.string().min(1),
    /** IANA time zone the pattern is read in. (Default: "UTC") */
    tz: z.string().min(1).default("UTC"),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!isTimeZone(s.tz)) {
      ctx.addIssue({ code: "custom", path: ["tz"], message: `unknown time zone "${s.tz}" (use an IANA name such as "Europe/Berlin")` });
      return;
    }
    try {
      CronExpressionParser.parse(s.cron, { tz: s.tz }).next();
    } catch (err) {
      ctx.addIssue({ code: "custom", path: ["cron"], message: `not a valid cron pattern: ${(err as Error).message}` });
    }
  });

/** One retention policy. */
export const RETENTION_POLICY_SCHEMA = z
  .object({
    /** Unique name; names the policy's schedule, runs and audit entries. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "letters, digits, _ and - only (at most 63, not starting with _ or -)"),
    /** Data-map name of a postgres store. */
    store: z.string().min(1),
    /** A table declared in that store. */
    table: identifier,
    /**
     * When a row is due: its age (a column, an aggregate over a linked table, or the greatest of
     * several) is before the cutoff (`olderThan` before the run's start, or the instant `before`).
     */
    age: AGE_SCHEMA,
    /** Further conditions, all of which must hold. (Default: none) */
    where: z.array(CONDITION_SCHEMA).default([]),
    /**
     * `anonymize` masks the table's declared personal fields; `delete` removes the rows. Either
     * reaches the rows' linked tables as an erasure would (see `linked`).
     */
    action: z.enum(["anonymize", "delete"]),
    /**
     * What happens to the rows of tables linked to the swept rows (dependents through foreign keys
     * and `via` links, every partition): `cascade` applies the erasure's treatment (a delete deletes
     * or detaches them, an anonymize masks their personal fields); `leave` (anonymize only) leaves
     * them as they are and needs a `reason`. (Default: "cascade")
     */
    linked: z.enum(["cascade", "leave"]).default("cascade"),
    /** Why linked tables are left (required with `linked: "leave"`). */
    reason: z.string().min(1).optional(),
    /** When the policy runs. */
    schedule: SCHEDULE_SCHEMA,
    /** Rows per batch, one short transaction each. (Default: 10000) */
    batchSize: z.number().int().min(1).max(1_000_000).default(DEFAULT_BATCH_SIZE),
    /** The purpose whose storage limit this policy enforces (Art. 30 register). */
    purpose: z.string().min(1),
    /** The legal basis of the processing the period belongs to (e.g. "Art. 6(1)(b) contract"). */
    legalBasis: z.string().min(1),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.linked === "leave" && !p.reason) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: 'say why the linked tables are left (required with "linked": "leave")' });
    }
    if (p.linked === "leave" && p.action === "delete") {
      ctx.addIssue({
        code: "custom",
        path: ["linked"],
        message: 'a delete cannot leave linked rows pointing at deleted rows; remove "linked": "leave" (or use action "anonymize")',
      });
    }
  });

/** A validated retention policy. */
export type RetentionPolicy = z.infer<typeof RETENTION_POLICY_SCHEMA>;
/** A retention policy as written in a data map (defaults not applied yet). */
export type RetentionPolicyInput = z.input<typeof RETENTION_POLICY_SCHEMA>;
