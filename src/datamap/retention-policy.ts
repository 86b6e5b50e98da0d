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
export const CONDITION_OPS = ["=", "<>", "in", "is null", "is not null"] as const;
/** One of {@link CONDITION_OPS}. */
export type ConditionOp = (typeof CONDITION_OPS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** An extra condition on one column, e.g. `{ "column": "status", "op": "=", "value": "closed" }`. Values are bound as parameters. */
export const CONDITION_SCHEMA = z.discriminatedUnion("op", [
  z.object({ column: identifier, op: z.enum(["=", "<>"]), value: scalar }).strict(),
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
    /** Rows whose `column` (a date or timestamp) is older than `olderThan` (ISO 8601 duration) are due. */
    age: z
      .object({
        column: identifier,
        olderThan: z.string().regex(ISO_DURATION, 'must be an ISO 8601 duration such as "P3Y", "P18M" or "P90D"'),
      })
      .strict(),
    /** Further conditions, all of which must hold. (Default: none) */
    where: z.array(CONDITION_SCHEMA).default([]),
    /** `anonymize` masks the table's declared personal fields; `delete` removes the rows (and declared dependents). */
    action: z.enum(["anonymize", "delete"]),
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
  .strict();

/** A validated retention policy. */
export type RetentionPolicy = z.infer<typeof RETENTION_POLICY_SCHEMA>;
