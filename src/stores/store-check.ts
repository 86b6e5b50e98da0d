import { allowedPlaceholders, placeholdersOf } from "./placeholders";
import type { StoreCheckProblem } from "./store-kind";

/** `lethe check` pieces shared by the pattern-based store kinds (redis, files). */

/**
 * The placeholder rules every pattern obeys: it has at least one (else it names other people's
 * data too), and each is `id` or an identity of `subject.identities`.
 */
export function placeholderProblems(
  key: string,
  template: string,
  identities: Readonly<Record<string, unknown>>,
): Array<StoreCheckProblem<"pattern-without-placeholder" | "unknown-placeholder">> {
  const names = placeholdersOf(template);
  if (names.length === 0) {
    return [
      {
        key,
        rule: "pattern-without-placeholder",
        message: `pattern "${template}" has no placeholder, so it would match every subject's data; include {id} or an identity such as {email}`,
      },
    ];
  }
  const allowed = allowedPlaceholders(identities);
  return names
    .filter((n) => !allowed.has(n))
    .map((n) => ({
      key,
      rule: "unknown-placeholder" as const,
      message: `pattern "${template}" uses {${n}}, which is neither {id} nor an identity of subject.identities (${[...allowed].map((a) => `{${a}}`).join(", ")})`,
    }));
}
