import type { z } from "zod";
import { invalidRequest, type FieldError } from "./problem";

/** Turns zod issues into field errors: the dotted path (`subject.email`), one entry per unknown key. */
export function fieldErrorsOf(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) errors.push({ field: [...at, key].join("."), message: "unknown field" });
    } else {
      errors.push({ field: at.length === 0 ? "body" : at.join("."), message: issue.message });
    }
  }
  return errors;
}

/** Parses `input` with `schema` or throws a 400 problem naming every offending field. */
export function parseOrProblem<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidRequest(fieldErrorsOf(parsed.error.issues));
  return parsed.data;
}
