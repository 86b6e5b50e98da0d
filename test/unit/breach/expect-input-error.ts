import { BreachInputError } from "../../../src/breach/input-error";

/** Runs `fn`, expects a BreachInputError, and returns the offending fields (for `toContain` checks). */
export function inputErrorFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof BreachInputError) return err.errors.map((e) => e.field);
    throw err;
  }
  throw new Error("expected a BreachInputError, nothing was thrown");
}

/** Runs `fn`, expects a BreachInputError, and returns its message. */
export function inputErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof BreachInputError) return err.message;
    throw err;
  }
  throw new Error("expected a BreachInputError, nothing was thrown");
}
