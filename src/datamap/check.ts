import { kindOf, STORE_KINDS, type StoreCheckRule } from "../stores/registry";
import type { CheckOptions } from "../stores/store-kind";
import { DataMapError } from "./load";
import type { DataMap } from "./schema";

/** Stable ids of the rules `lethe check` applies (every store kind's); scripts and tests match on these. */
export const CHECK_RULES: readonly StoreCheckRule[] = [...new Set<StoreCheckRule>(STORE_KINDS.flatMap((k): readonly StoreCheckRule[] => k.checkRules))];
/** One of {@link CHECK_RULES}. */
export type CheckRule = StoreCheckRule;

/** One reason the data map cannot be used against the live stores. Names schema objects only, never values. */
export interface CheckProblem {
  /** Data-map key path, e.g. `stores.shop.tables.orders.fields.billing_email`. */
  key: string;
  /** Which rule failed. */
  rule: CheckRule;
  /** What is wrong and what to do about it. */
  message: string;
  /** `warning`: printed, but the map is still usable. (Default: an error.) */
  severity?: "warning";
}

/** True for a problem that makes the map unusable (not a warning). */
export function isError(p: CheckProblem): boolean {
  return p.severity !== "warning";
}

/**
 * Checks the data map against the live stores and returns every problem at once (an empty list
 * means ready): each store by its kind's rules (`stores/<kind>/check`), in data-map order.
 */
export async function checkDataMap(map: DataMap, opts: CheckOptions = {}): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const [name, store] of Object.entries(map.stores)) {
    problems.push(...((await kindOf(store).check(map, name, store, opts)) as CheckProblem[]));
  }
  return problems;
}

/** One line per problem: `<file>: <key>: [<rule>] <message>` (warnings: `[warning <rule>]`). */
export function formatProblems(file: string, problems: readonly CheckProblem[]): string[] {
  return problems.map((p) => `${file}: ${p.key}: [${isError(p) ? "" : "warning "}${p.rule}] ${p.message}`);
}

/**
 * Start-up gate of the worker and the API: throws {@link DataMapError} listing every problem
 * unless the map checks clean (warnings do not block); returns the warnings.
 */
export async function assertDataMapReady(map: DataMap, file: string, opts: CheckOptions = {}): Promise<CheckProblem[]> {
  const all = await checkDataMap(map, opts);
  const problems = all.filter(isError);
  if (problems.length > 0)
    throw new DataMapError(
      file,
      problems.map((p) => `${p.key}: [${p.rule}] ${p.message}`),
    );
  return all.filter((p) => !isError(p));
}
