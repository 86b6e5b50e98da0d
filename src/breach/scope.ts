import { z } from "zod";
import { parseBreachInput } from "./input-error";

/**
 * The scope of a breach: which rows were breached, from which the affected people are found by
 * walking the data map. Three shapes:
 *
 * - `rows`: a store and table, narrowed by structured conditions (all must hold) and/or a time
 *   window on a column — or explicitly the whole table;
 * - `keys`: an uploaded list of key values of one table (its primary key unless a column is named);
 * - `identities`: an uploaded list of identity values (e.g. e-mail addresses) matched with the data
 *   map's rule for that identity.
 *
 * This is data, never SQL text: column and table names are plain identifiers checked later against
 * the data map and the live schema (then quoted), values are bound as parameters. Values may be
 * personal data (an e-mail in a condition, an identity list): callers seal or hash them on
 * arrival and never log them; {@link scopeSummary} gives a loggable description.
 */

/** The most values an `in` condition or an uploaded list may hold. */
export const MAX_SCOPE_LIST_VALUES = 1_000_000;

/** The comparison operators taking one value. */
export const COMPARISON_OPS = ["=", "<>", "<", "<=", ">", ">="] as const;

/** Every operator of a condition. */
export const CONDITION_OPS = [...COMPARISON_OPS, "in", "is null", "is not null", "between"] as const;

/** One operator of {@link CONDITION_OPS}. */
export type ConditionOp = (typeof CONDITION_OPS)[number];

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be a plain SQL identifier (letters, digits, _ and $; not starting with a digit)");

const storeName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, "store names use letters, digits, _ and - only");

/** A condition value: text (dates as ISO 8601 text), a finite number or a boolean. Null is tested with `is null`. */
const scalar = z.union([z.string().max(1000), z.number().refine(Number.isFinite, "must be a finite number"), z.boolean()]);

const sameType = (values: readonly unknown[]) => values.every((v) => typeof v === typeof values[0]);

const ISO_INSTANT = z.iso.datetime({ offset: true });

/** Numbers and ISO instants are checked in order; other text is ordered by the database's collation, so it is not judged here. */
function boundsOrdered(lo: unknown, hi: unknown): boolean {
  if (typeof lo === "number" && typeof hi === "number") return lo <= hi;
  if (ISO_INSTANT.safeParse(lo).success && ISO_INSTANT.safeParse(hi).success) return Date.parse(lo as string) <= Date.parse(hi as string);
  return true;
}

/** One condition on a column of the scoped table. */
export const ConditionSchema = z.discriminatedUnion("op", [
  z.object({ column: identifier, op: z.enum(COMPARISON_OPS), value: scalar }).strict(),
  z
    .object({ column: identifier, op: z.literal("in"), value: z.array(scalar).min(1, "give at least one value").max(MAX_SCOPE_LIST_VALUES) })
    .strict()
    .refine((c) => sameType(c.value), { path: ["value"], message: "all values of an in list must be of one type" }),
  z.object({ column: identifier, op: z.enum(["is null", "is not null"]) }).strict(),
  z
    .object({ column: identifier, op: z.literal("between"), value: z.tuple([scalar, scalar]) })
    .strict()
    .refine((c) => sameType(c.value), { path: ["value"], message: "both bounds must be of one type" })
    .refine((c) => boundsOrdered(c.value[0], c.value[1]), { path: ["value"], message: "the lower bound must not exceed the upper" }),
]);

/** A validated condition. */
export type ScopeCondition = z.output<typeof ConditionSchema>;

const instant = ISO_INSTANT;

/** A time window on a timestamp column: `from` inclusive, `until` exclusive; at least one bound. */
export const TimeWindowSchema = z
  .object({ column: identifier, from: instant.optional(), until: instant.optional() })
  .strict()
  .refine((w) => w.from !== undefined || w.until !== undefined, { path: ["from"], message: "give from, until or both" })
  .refine((w) => w.from === undefined || w.until === undefined || Date.parse(w.from) < Date.parse(w.until), {
    path: ["until"],
    message: "until must be after from",
  });

const rowsScope = z
  .object({
    kind: z.literal("rows"),
    store: storeName,
    table: identifier,
    where: z.array(ConditionSchema).max(50).default([]),
    window: TimeWindowSchema.optional(),
    /** Set to say the whole table was breached; required when there is no condition and no window. */
    allRows: z.literal(true).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const narrowed = s.where.length > 0 || s.window !== undefined;
    if (!narrowed && !s.allRows)
      ctx.addIssue({ code: "custom", path: ["allRows"], message: "give a condition, a window, or allRows: true for the whole table" });
    if (narrowed && s.allRows) ctx.addIssue({ code: "custom", path: ["allRows"], message: "allRows contradicts the conditions or window" });
  });

const keysScope = z
  .object({
    kind: z.literal("keys"),
    store: storeName,
    table: identifier,
    /** The key column; the table's primary key when absent (a composite key needs a column named). */
    column: identifier.optional(),
    values: z
      .array(z.union([z.string().min(1).max(1000), z.number().int("keys are whole numbers or text")]))
      .min(1, "give at least one key")
      .max(MAX_SCOPE_LIST_VALUES),
  })
  .strict();

const identitiesScope = z
  .object({
    kind: z.literal("identities"),
    /** The name of an identity declared in the data map's subject (e.g. `email`). */
    identity: identifier,
    values: z.array(z.string().trim().min(1).max(320)).min(1, "give at least one identity").max(MAX_SCOPE_LIST_VALUES),
  })
  .strict();

/** The scope of a breach: rows of a table, a list of keys, or a list of identities. */
export const ScopeSchema = z.discriminatedUnion("kind", [rowsScope, keysScope, identitiesScope]);

/** A validated scope. */
export type Scope = z.output<typeof ScopeSchema>;

/** Validates a scope; throws `BreachInputError` naming each bad field (never echoing a value). */
export function parseScope(input: unknown): Scope {
  return parseBreachInput("scope", ScopeSchema, input);
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A description of a scope fit for logs and the audit chain: names of store, table and columns,
 * operators and counts — no values.
 */
export function scopeSummary(scope: Scope): string {
  switch (scope.kind) {
    case "rows": {
      if (scope.allRows) return `rows of ${scope.store}.${scope.table}: all`;
      const parts = scope.where.map((c) => (c.op === "in" ? `${c.column} in (${c.value.length} values)` : `${c.column} ${c.op}`));
      if (scope.window) parts.push(`${scope.window.column} in a time window`);
      return `rows of ${scope.store}.${scope.table} where ${parts.join(" and ")}`;
    }
    case "keys":
      return `${plural(scope.values.length, "key", "keys")} of ${scope.store}.${scope.table}${scope.column ? ` (${scope.column})` : ""}`;
    case "identities":
      return `${plural(scope.values.length, `${scope.identity} identity`, `${scope.identity} identities`)}`;
  }
}
