import type { ClientBase } from "pg";
import { activeHoldHashes } from "../db/tables/legal-hold";
import { restrictedHashes } from "../db/tables/restriction";

/**
 * Keyed hashes of the subjects a sweep must skip: under an active legal hold, or under a
 * restriction in force (Art. 18: their data is only stored). Both name a subject as
 * `HMAC(key, "id:" + subject key)`, so the sweep's one hold test covers both; skipped rows count
 * as `held`. Read once per batch, on the sweep's own connection.
 */
export async function sweepExemptHashes(db: Pick<ClientBase, "query">): Promise<string[]> {
  const [holds, restricted] = await Promise.all([activeHoldHashes(db), restrictedHashes(db)]);
  return [...new Set([...holds, ...restricted])];
}
