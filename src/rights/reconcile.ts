import { stalePendingEvents, wipeStaleEventPayloads } from "../db/tables/recipient-event";
import { liftedAwaitingEvents } from "../db/tables/restriction";
import { getRightsRequest } from "../db/tables/rights-request";
import { stalePendingNotices } from "../db/tables/rights-notice";
import { staleRightsRequests } from "../db/tables/subject-request";
import type { Logger } from "../logger";
import { enqueueApplyRights } from "../queues/jobs/apply-rights";
import { mailJobId, SEND_MAIL } from "../queues/jobs/send-mail";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import { tellLift } from "./restrictions";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";
import { RIGHTS_TYPES } from "./types";

/** Rows younger than this are left to the process that wrote them (it enqueues right after its commit). */
export const RIGHTS_GRACE_MS = 2000;

/** What one pass did. */
export interface RightsReconcileOutcome {
  requests: number;
  events: number;
  notices: number;
  lifts: number;
}

/**
 * Makes Redis agree with Postgres for the rights: a rights request whose stores are not done gets
 * its store job again, a settled one completes; a pending recipient event or notice gets its job
 * again (same deterministic ids: a job still there is not duplicated, a finished one is replaced);
 * a lift that took effect tells its processors. Failed events' sealed payloads are wiped after
 * LETHE_FAILED_IDENTITIES_TTL_HOURS.
 */
export async function reconcileRights(s: RightsServices, logger: Logger): Promise<RightsReconcileOutcome> {
  const out: RightsReconcileOutcome = { requests: 0, events: 0, notices: 0, lifts: 0 };
  await wipeStaleEventPayloads(s.ds, s.config.failedIdentitiesTtlHours);
  for (const r of await staleRightsRequests(s.ds, RIGHTS_TYPES, RIGHTS_GRACE_MS)) {
    const rr = await getRightsRequest(s.ds, r.id);
    if (rr && !rr.storesDone) {
      await enqueueApplyRights(s.queues.rights, s.config, r.id, { replaceFinished: true });
      out.requests++;
    } else if ((await settleRequest(s, r.id)) !== "open") {
      out.requests++;
    }
  }
  const events = await stalePendingEvents(s.ds, RIGHTS_GRACE_MS);
  await enqueueTellRecipients(s.queues.rights, s.config, events, { replaceFinished: true });
  out.events = events.length;
  for (const id of await stalePendingNotices(s.ds, RIGHTS_GRACE_MS)) {
    const old = await s.queues.mail.getJob(mailJobId("notice", id));
    if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove().catch(() => undefined);
    await SEND_MAIL.enqueue(s.queues.mail, s.config, { kind: "notice", noticeId: id });
    out.notices++;
  }
  for (const id of await liftedAwaitingEvents(s.ds)) {
    await tellLift(s, id);
    out.lifts++;
  }
  if (out.requests + out.events + out.notices + out.lifts > 0) logger.info({ ...out }, "rights reconciled");
  return out;
}
