import { resetFailedEvents } from "../db/tables/recipient-event";
import { getRightsRequest } from "../db/tables/rights-request";
import { moveRequest, retryState } from "../db/tables/subject-request";
import { enqueueApplyRights } from "../queues/jobs/apply-rights";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import type { RetryRefusal } from "../requests/retry";
import type { RightsServices } from "./services";

/**
 * Resumes a failed rights request: stores already done are not changed again (their rows say
 * so, and a `prepared` one is resolved by its transaction id), failed processor events are sent
 * again with the same idempotency key (their sealed payload is kept for this, until
 * LETHE_FAILED_IDENTITIES_TTL_HOURS).
 */
export async function retryRight(s: RightsServices, requestId: string, by: string): Promise<"retried" | RetryRefusal> {
  const state = await retryState(s.ds, requestId);
  if (!state) return "not-found";
  if (state.status !== "failed") return "not-failed";
  const rr = await getRightsRequest(s.ds, requestId);
  if (rr && !rr.storesDone && !state.has_identities) return "identities-wiped";
  const events = await s.ds.transaction(async (q) => {
    const moved = await moveRequest(q, requestId, { from: ["failed"], to: "running", event: "request.retried", actor: by });
    return moved ? resetFailedEvents(q, requestId) : null;
  });
  if (events === null) return "not-failed";
  await enqueueTellRecipients(s.queues.rights, s.config, events, { replaceFinished: true });
  if (rr && !rr.storesDone) await enqueueApplyRights(s.queues.rights, s.config, requestId, { replaceFinished: true });
  return "retried";
}
