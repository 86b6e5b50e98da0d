import { recordDecision, getRightsRequest } from "../db/tables/rights-request";
import { insertRecipientEvents, type EventKey } from "../db/tables/recipient-event";
import { insertNotice } from "../db/tables/rights-notice";
import { restrictionForLift } from "../db/tables/restriction";
import { insertSuppression } from "../db/tables/suppression";
import { lockRequest, moveRequest, refuseRequestRow } from "../db/tables/subject-request";
import type { Sql } from "../db/tables/sql";
import { enqueueApplyRights } from "../queues/jobs/apply-rights";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import { openIdentities } from "../subject/sealed";
import { noticeSubjectOf } from "./extend";
import { enqueueNotice } from "./notices";
import { buildEvents, recipientsOf } from "./recipients";
import { liftOnNotice } from "./restrictions";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";
import { keyHashOf } from "./subject";

/**
 * The decisions a `dpo` key takes on a request: the Art. 12(4) refusal of any request, the
 * approval or rejection of a rectification (a rejection is a refusal, with its notice), and the
 * outcome of an objection under Art. 21(1). Each is one transaction with the notice it sends; a
 * restriction the request opened is lifted behind that notice.
 */

/** Why a decision was not taken. */
export type DecisionRefusal = "not-found" | "not-awaiting" | "started" | "no-subject";

const RESTRICTION_ENDS = "The restriction of processing that applied to your data while we considered your request ends with this message.";

/** Queues a refusal inside `q` (the notice, the request refused, a restriction of it lifted behind the notice). */
async function refuseIn(q: Sql, s: RightsServices, requestId: string, r: { reason: string; by: string }): Promise<{ noticeId: string } | DecisionRefusal> {
  const req = await lockRequest(q, requestId);
  if (!req) return "not-found";
  if (!["queued", "held", "awaiting_decision"].includes(req.status)) return "started";
  if (!req.identities) return "no-subject";
  const rr = await getRightsRequest(q, requestId);
  const restriction = rr?.restrictionId ? await restrictionForLift(q, rr.restrictionId) : null;
  const lifts = restriction?.status === "active" && restriction.subject !== null;
  const noticeId = await insertNotice(q, {
    requestId,
    kind: "refusal",
    restrictionId: lifts ? restriction.id : null,
    subject: noticeSubjectOf(s.config.encryptionKey, req.identities),
    vars: { restrictionNote: lifts ? RESTRICTION_ENDS : "" },
    reason: r.reason,
  });
  if (lifts) await liftOnNotice(q, { restrictionId: restriction.id, requestId, subject: restriction.subject!, by: r.by, reason: r.reason, noticeId });
  if (!(await refuseRequestRow(q, requestId, r.by, noticeId))) throw new Error("the request moved on concurrently");
  return { noticeId };
}

/**
 * Art. 12(4): refuses a request that has not started changing stores (queued, held, awaiting a
 * decision), with the reason; the notice (with the right to complain to a supervisory authority)
 * is queued in the same transaction.
 */
export async function refuseRequest(s: RightsServices, requestId: string, r: { reason: string; by: string }): Promise<{ noticeId: string } | DecisionRefusal> {
  const outcome = await s.ds.transaction((q) => refuseIn(q, s, requestId, r));
  if (typeof outcome !== "string") await enqueueNotice(s, outcome.noticeId);
  return outcome;
}

/** Approves a rectification that waits for approval: it runs now. */
export async function approveRectification(
  s: RightsServices,
  requestId: string,
  a: { reason: string | null; by: string },
): Promise<"approved" | DecisionRefusal> {
  const outcome = await s.ds.transaction(async (q): Promise<"approved" | DecisionRefusal> => {
    const req = await lockRequest(q, requestId);
    if (!req) return "not-found";
    const rr = await getRightsRequest(q, requestId);
    if (req.status !== "awaiting_decision" || rr?.needsDecision !== "approval") return "not-awaiting";
    if (!(await recordDecision(q, requestId, { decision: "approved", reason: a.reason, by: a.by }))) return "not-awaiting";
    await moveRequest(q, requestId, { from: ["awaiting_decision"], to: "queued", event: "rectification.approved", actor: a.by });
    return "approved";
  });
  if (outcome === "approved") await enqueueApplyRights(s.queues.rights, s.config, requestId);
  return outcome;
}

/** Rejects a rectification that waits for approval: a refusal with the reason (and its notice). */
export async function rejectRectification(
  s: RightsServices,
  requestId: string,
  r: { reason: string; by: string },
): Promise<{ noticeId: string } | DecisionRefusal> {
  const outcome = await s.ds.transaction(async (q): Promise<{ noticeId: string } | DecisionRefusal> => {
    const rr = await getRightsRequest(q, requestId);
    if (!rr) return (await lockRequest(q, requestId)) ? "not-awaiting" : "not-found";
    if (rr.needsDecision !== "approval" || !(await recordDecision(q, requestId, { decision: "rejected", reason: r.reason, by: r.by }))) return "not-awaiting";
    return refuseIn(q, s, requestId, r);
  });
  if (typeof outcome !== "string") await enqueueNotice(s, outcome.noticeId);
  return outcome;
}

/**
 * Decides an objection under Art. 21(1): `upheld` (processing for the purpose stops: a
 * suppression, the purpose's processors told `object`) or `rejected` (compelling legitimate
 * grounds), with the grounds. The decision notice is queued in the same transaction, and the
 * 18(1)(d) restriction is lifted once it was sent. The request completes when both are done.
 */
export async function decideObjection(
  s: RightsServices,
  requestId: string,
  d: { outcome: "upheld" | "rejected"; grounds: string; by: string },
): Promise<{ noticeId: string } | DecisionRefusal> {
  const outcome = await s.ds.transaction(async (q): Promise<{ noticeId: string; events: EventKey[] } | DecisionRefusal> => {
    const req = await lockRequest(q, requestId);
    if (!req) return "not-found";
    const rr = await getRightsRequest(q, requestId);
    if (req.status !== "awaiting_decision" || rr?.needsDecision !== "objection" || !rr.purpose) return "not-awaiting";
    if (!req.identities) return "no-subject";
    if (!(await recordDecision(q, requestId, { decision: d.outcome, reason: d.grounds, by: d.by }))) return "not-awaiting";
    const restriction = rr.restrictionId ? await restrictionForLift(q, rr.restrictionId) : null;
    const lifts = restriction?.status === "active" && restriction.subject !== null;
    const noticeId = await insertNotice(q, {
      requestId,
      kind: "objection-decision",
      restrictionId: lifts ? restriction.id : null,
      subject: noticeSubjectOf(s.config.encryptionKey, req.identities),
      vars: {
        decision:
          d.outcome === "upheld" ? "your objection is upheld: we stop this processing" : "your objection is rejected: we have compelling legitimate grounds",
        purpose: rr.purpose,
        restrictionNote: lifts ? RESTRICTION_ENDS : "",
      },
      reason: d.grounds,
    });
    if (lifts) await liftOnNotice(q, { restrictionId: restriction.id, requestId, subject: restriction.subject!, by: d.by, reason: d.grounds, noticeId });
    let events: EventKey[] = [];
    if (d.outcome === "upheld") {
      const sealed = openIdentities(s.config.encryptionKey, req.identities);
      const snapshot = { identities: sealed.identities ?? {}, seed: sealed.seed ?? {} };
      await insertSuppression(q, { subjectHash: keyHashOf(s.config, snapshot), purpose: rr.purpose, requestId, by: d.by });
      const built = buildEvents(s.dataMap, s.config.encryptionKey, {
        requestId,
        action: "object",
        snapshot,
        content: { purpose: rr.purpose },
        recipients: recipientsOf(s.dataMap, "object", rr.purpose),
      });
      const pending = new Set(built.filter((e) => e.status === "pending").map((e) => e.recipient));
      events = (await insertRecipientEvents(q, built)).filter((k) => pending.has(k.recipient));
    }
    await moveRequest(q, requestId, { from: ["awaiting_decision"], to: "running", event: `objection.${d.outcome}`, actor: d.by });
    return { noticeId, events };
  });
  if (typeof outcome === "string") return outcome;
  await enqueueNotice(s, outcome.noticeId);
  await enqueueTellRecipients(s.queues.rights, s.config, outcome.events);
  await settleRequest(s, requestId);
  return { noticeId: outcome.noticeId };
}
