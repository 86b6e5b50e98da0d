import { asPermanentIfHopeless, tagStore } from "../erasure/flow";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import { insertRecipientEvents, type EventKey } from "../db/tables/recipient-event";
import { getRightsRequest, markStoresDone } from "../db/tables/rights-request";
import { markRightsStoreDone, recordRightsStore, rightsStoresOf } from "../db/tables/rights-store";
import { restrictionForLift } from "../db/tables/restriction";
import { loadRequest, moveRequest } from "../db/tables/subject-request";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import { isFinal } from "../requests/status";
import type { FieldChange, RightsStep } from "../stores/rights-side";
import { openIdentities } from "../subject/sealed";
import type { SubjectSnapshot } from "../subject/snapshot";
import { withdrawalChanges } from "./fields";
import { enqueueNotice } from "./notices";
import { buildEvents, recipientsOf } from "./recipients";
import { liftOnNotice } from "./restrictions";
import type { RightsServices } from "./services";
import { settleRequest, type Settled } from "./settle";
import { isRightsType, type RightsSealed } from "./types";

/** Why the 18(1)(a) restriction of a contested rectification ends (sent to the person in the lift notice). */
export const RECTIFIED_LIFT_REASON = "We checked the accuracy of your data and corrected it as you asked; the restriction that applied while we checked ends.";

/** What the store job did. */
export type ApplyOutcome = { state: "skipped"; reason: string } | { state: "applied"; stores: number; settled: Settled };

/**
 * One store's part, exactly once: a store whose change is recorded `done` (or `not_applicable`)
 * is not touched again; a `prepared` one (a worker died around COMMIT) is resolved by
 * `txid_status` — committed: recorded done; aborted: changed again; still open: retried later.
 */
async function applyStore(
  s: RightsServices,
  requestId: string,
  store: string,
  snapshot: SubjectSnapshot,
  changes: FieldChange[],
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const side = s.stores.rights(store);
  if (!side?.rectify) return;
  const prior = (await rightsStoresOf(s.ds, requestId)).find((r) => r.store === store);
  if (prior && prior.status !== "prepared") return;
  if (prior?.xid && side.transactionStatus) {
    const status = await side.transactionStatus(prior.xid);
    if (status === "in progress") throw new Error(`store "${store}": the previous attempt's transaction is still open`);
    if (status === "committed") {
      log.info({ requestId, store }, "previous attempt committed; recording it");
      await markRightsStoreDone(s.ds, requestId, store);
      return;
    }
  }
  let prepared = false;
  const record = async (steps: RightsStep[], xid: string | null): Promise<void> => {
    await recordRightsStore(s.ds, requestId, store, { status: xid ? "prepared" : "done", steps, xid, note: null });
    prepared = xid !== null;
  };
  const outcome = await side.rectify({ requestId, store, snapshot, logger: log.child({ store }), ...(signal ? { signal } : {}) }, changes, record);
  if (outcome.state === "not_applicable") {
    await recordRightsStore(s.ds, requestId, store, { status: "not_applicable", steps: [], xid: null, note: outcome.note });
    return;
  }
  if (prepared) await markRightsStoreDone(s.ds, requestId, store);
  log.info({ requestId, store, tables: outcome.steps.length, rows: outcome.steps.reduce((n, x) => n + x.rows, 0) }, "store rectified");
}

/**
 * The stores' part of a rectification (or of a consent withdrawal that erases fields), then the
 * recipients told (`rectify`, with only the changed fields each processor holds), and the
 * contested-accuracy restriction's lift queued behind its notice — the events, the stores' end
 * and the lift in one transaction, so a crash never tells a recipient twice.
 */
export async function applyRights(s: RightsServices, requestId: string, log: Logger, signal?: AbortSignal): Promise<ApplyOutcome> {
  const request = await loadRequest(s.ds, requestId);
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  if (!isRightsType(request.type)) throw new PermanentError(ERROR_CODES.badPayload, "the request is not a rights request");
  if (isFinal(request.status) || request.status === "awaiting_decision" || request.status === "held")
    return { state: "skipped", reason: `request ${request.status}` };
  const rr = await getRightsRequest(s.ds, requestId);
  if (!rr) throw new PermanentError(ERROR_CODES.badPayload, "the request has no rights record");
  if (rr.storesDone) return { state: "applied", stores: 0, settled: await settleRequest(s, requestId) };
  if (!request.identities) throw new PermanentError(ERROR_CODES.badPayload, "the request has no identities to work with");
  if (request.status === "queued") await moveRequest(s.ds, requestId, { from: ["queued"], to: "running" });

  const sealed = openIdentities(s.config.encryptionKey, request.identities) as RightsSealed;
  if (!sealed.identities) throw new PermanentError(ERROR_CODES.badPayload, "the request has no snapshot");
  const snapshot: SubjectSnapshot = { identities: sealed.identities, seed: sealed.seed ?? {} };
  const changes = request.type === "rectification" ? (sealed.changes ?? []) : withdrawalChanges(s.dataMap, rr.purpose ?? "");
  const stores = s.stores.names();
  for (const store of stores) {
    try {
      await applyStore(s, requestId, store, snapshot, changes, log, signal);
    } catch (err) {
      throw tagStore(asPermanentIfHopeless(err, store), store);
    }
  }

  const { events, noticeId } = await s.ds.transaction(async (q) => {
    let created: EventKey[] = [];
    if (request.type === "rectification") {
      const built = buildEvents(s.dataMap, s.config.encryptionKey, {
        requestId,
        action: "rectify",
        snapshot,
        content: { changes },
        recipients: recipientsOf(s.dataMap, "rectify"),
      });
      const pending = new Set(built.filter((e) => e.status === "pending").map((e) => e.recipient));
      created = (await insertRecipientEvents(q, built)).filter((k) => pending.has(k.recipient));
    }
    let lift: { noticeId: string } | null = null;
    if (rr.contested && rr.restrictionId) {
      const r = await restrictionForLift(q, rr.restrictionId);
      if (r?.status === "active" && r.subject) {
        lift = await liftOnNotice(q, { restrictionId: r.id, requestId, subject: r.subject, by: "worker", reason: RECTIFIED_LIFT_REASON });
      }
    }
    await markStoresDone(q, requestId);
    return { events: created, noticeId: lift?.noticeId ?? null };
  });
  await enqueueTellRecipients(s.queues.rights, s.config, events);
  if (noticeId) await enqueueNotice(s, noticeId);
  return { state: "applied", stores: stores.length, settled: await settleRequest(s, requestId) };
}
