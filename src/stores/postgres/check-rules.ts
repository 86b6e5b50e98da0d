import { RETENTION_RULES } from "../../retention/check-policies";
import type { StoreCheckProblem } from "../store-kind";

/** Ids of the rules `lethe check` applies to a postgres store (its retention policies included). */
export const POSTGRES_CHECK_RULES = [
  "store-unreachable",
  "missing-schema",
  "missing-table",
  "missing-column",
  "undeclared-reachable-table",
  "unreachable-table",
  "undecided-personal-column",
  "mask-misfit",
  "subject-key-not-unique",
  "identity-not-unique",
  "orphaning-delete",
  "partition-listed",
  "partition-constraints-differ",
  "unlinked-reference",
  "owner-undeclared",
  "export-includes-others",
  "rights-copy-unlinked",
  ...RETENTION_RULES,
] as const;
/** One of {@link POSTGRES_CHECK_RULES}. */
export type PostgresCheckRule = (typeof POSTGRES_CHECK_RULES)[number];

/** One problem (or, with `severity: "warning"`, a warning) of a postgres store. */
export type PostgresCheckProblem = StoreCheckProblem<PostgresCheckRule>;

/** Adds a problem; `warning` makes it a warning (reported, not blocking). */
export type AddProblem = (key: string, rule: PostgresCheckRule, message: string, severity?: "warning") => void;

/** A problem list and its {@link AddProblem}. */
export function problemList(): { problems: PostgresCheckProblem[]; add: AddProblem } {
  const problems: PostgresCheckProblem[] = [];
  return {
    problems,
    add: (key, rule, message, severity) => problems.push({ key, rule, message, ...(severity ? { severity } : {}) }),
  };
}
