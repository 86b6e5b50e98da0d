import type { DataSource } from "typeorm";
import { appendAudit } from "../db/tables/audit-log";
import { insertHold, releaseHoldRow, type HoldView } from "../db/tables/legal-hold";
import { resumeHeldRequests } from "../db/tables/subject-request";
import { subjectHash } from "../subject/hashes";
import type { MatchRule } from "../subject/identity-match";

/**
 * Legal holds: while a hold is active (not released, `until` not passed) its subject is not
 * erased and retention sweeps skip its rows. The subject is named by keyed hash only.
 */

/** Places a hold on the subject named by `identity`/`value`, hashed by the identity's match rule (default: the name's). */
export function placeHold(
  ds: DataSource,
  hmacKey: Buffer,
  input: { identity: string; value: string; match?: MatchRule; ground: string; until?: Date; by: string },
): Promise<HoldView> {
  return insertHold(ds, {
    subjectHash: subjectHash(hmacKey, input.identity, input.value, input.match),
    ground: input.ground,
    ...(input.until ? { until: input.until } : {}),
    by: input.by,
  });
}

/**
 * Releases a hold, in one transaction with its audit entry; returns the ids of the requests that
 * waited for it (now `queued` again, to be enqueued by the caller), or null when there is no such hold.
 */
export async function releaseHold(ds: DataSource, id: string, by: string): Promise<string[] | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  return ds.transaction(async (m) => {
    const hash = await releaseHoldRow(m, id);
    if (hash === null) return null;
    await appendAudit(m, { event: "hold.released", subjectHash: hash, actor: by, detail: { holdId: id } });
    return resumeHeldRequests(m, id);
  });
}
