import { z } from "zod";

/** One offending input: its dotted path (`dpc.categories.0.adjustments.1.delta`) and the rule it broke. */
export interface BreachFieldError {
  field: string;
  message: string;
}

/**
 * Bad input to the breach module (an assessment, decision, report, scope, template). The HTTP layer
 * answers it with a 400 problem listing `errors`; messages name fields and rules, never input values.
 */
export class BreachInputError extends Error {
  override readonly name = "BreachInputError";
  constructor(
    /** What was being validated, e.g. `severity assessment`. */
    readonly what: string,
    /** Every offending field. */
    readonly errors: readonly BreachFieldError[],
  ) {
    super(`invalid ${what}: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`);
  }
}

/**
 * Converts zod issues into field errors; unknown keys are named one by one. A failed union (a value
 * or its "to follow" marker, say) reports the branch that came closest (fewest issues, then the
 * deepest), at its full path.
 */
export function fieldErrorsOfIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): BreachFieldError[] {
  const errors: BreachFieldError[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...issue.path].map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) errors.push({ field: [...at, key].join("."), message: "unknown field" });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Fewest issues wins; on a tie the branch whose issues sit deepest matched the most structure.
      const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(0, ...branch.map((i) => i.path.length));
      const closest = issue.errors.reduce((best, b) => (b.length < best.length || (b.length === best.length && depth(b) > depth(best)) ? b : best));
      errors.push(...fieldErrorsOfIssues(closest, [...prefix, ...issue.path]));
    } else {
      errors.push({ field: at.length === 0 ? "(root)" : at.join("."), message: issue.message });
    }
  }
  return errors;
}

/** Parses `input` with `schema` or throws a {@link BreachInputError} naming every offending field. */
export function parseBreachInput<S extends z.ZodType>(what: string, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new BreachInputError(what, fieldErrorsOfIssues(parsed.error.issues));
  return parsed.data;
}

/** A string that must hold some text once trimmed (a rationale, a reason); the message names `what`. */
export function requiredText(what: string, min = 1, max = 10_000): z.ZodString {
  return z
    .string()
    .trim()
    .min(min, min <= 1 ? `${what} is required` : `${what} needs at least ${min} characters`)
    .max(max, `${what} is longer than ${max} characters`);
}
