import type { DataMapInput } from "./schema";

/**
 * Identity: a helper for `lethe.config.ts` files, giving editor completion and type checks.
 * Kept apart from the schema so `require("lethe")` loads no store code.
 */
export function defineDataMap(map: DataMapInput): DataMapInput {
  return map;
}
