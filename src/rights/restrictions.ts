import type { DataSource } from "typeorm";
import { decryptJson } from "../crypto";
import { eventsOfRequest, insertRecipientEvents, type EventKey } from "../db/tables/recipient-event";
import { insertNotice } from "../db/tables/rights-notice";
import { insertRestriction, liftWithoutNotice, requestLift, restrictionForLift, wipeRestrictionSubject } from "../db/tables/restriction";
import type { Sql } from "../db/tables/sql";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import type { SubjectSnapshot } from "../subject/snapshot";
import type { RightsSealed } from "./types";
import { enqueueNotice } from "./notices";
import { buildEvents, recipientsOf, type Recipient } from "./recipients";
import type { RightsServices } from "./services";
import { keyHashOf, sealedKeyRef } from "./subject";

/**
 * Restrictions (Art. 18): opened with their ground and purpose, the processors told (`restrict`);
 * lifted only once the person was told (18(3)) — the lift queues the notice and takes effect when
 * it was sent (`db/tables/rights-notice.markNoticeSent`), or, when it could not be sent, once a
 * `dpo` key recorded why; then the processors are told (`lift-restriction`).
 */

/** Opens a restriction inside the caller's transaction `q`, with one `restrict` event per recipient; returns its id and the events to enqueue. */
export async function openRestriction(
  s: Pick<RightsServices, "config" | "dataMap">,
  q: Sql,
  r: { requestId: string; snapshot: SubjectSnapshot; ground: string; purpose: string | null; by: string },
): Promise<{ restrictionId: string; events: EventKey[] }> {
  const restrictionId = await insertRestriction(q, {
    requestId: r.requestId,
    subjectHash: keyHashOf(s.config, r.snapshot),
    subjectKey: r.snapshot.identities.id!,
    subject: sealedKeyRef(s.config, r.snapshot),
    ground: r.ground,
    purpose: r.purpose,
    by: r.by,
  });
  const events = buildEvents(s.dataMap, s.config.encryptionKey, {
    requestId: r.requestId,
    action: "restrict",
    snapshot: r.snapshot,
    content: { restriction: { ground: r.ground, purpose: r.purpose } },
    recipients: recipientsOf(s.dataMap, "restrict"),
  });
  const created = await insertRecipientEvents(q, events);
  const pending = new Set(events.filter((e) => e.status === "pending").map((e) => `${e.recipient}|${e.action}`));
  return { restrictionId, events: created.filter((k) => pending.has(`${k.recipient}|${k.action}`)) };
}

/**
 * Asks for a restriction's lift inside transaction `q`: the notice (kind `restriction-lifted`, or
 * the refusal or decision notice that announces it) must be sent first. False when the
 * restriction is not active. `noticeId` given: an existing notice announces the lift.
 */
export async function liftOnNotice(
  q: Sql,
  r: { restrictionId: string; requestId: string; subject: Buffer; by: string; reason: string; noticeId?: string },
): Promise<{ noticeId: string } | null> {
  const noticeId =
    r.noticeId ??
    (await insertNotice(q, {
      requestId: r.requestId,
      kind: "restriction-lifted",
      restrictionId: r.restrictionId,
      subject: r.subject,
      vars: {},
      reason: r.reason,
    }));
  return (await requestLift(q, r.restrictionId, { by: r.by, reason: r.reason, noticeId })) ? { noticeId } : null;
}

/** Why a lift was not started. */
export type LiftRefusal = "not-found" | "lifting" | "lifted";

/** `POST /v1/restrictions/:id/lift`: queues the notice; the restriction stays in force until it was sent. */
export async function liftRestriction(
  s: RightsServices,
  restrictionId: string,
  l: { by: string; reason: string },
): Promise<{ noticeId: string } | LiftRefusal> {
  const outcome = await s.ds.transaction(async (q): Promise<{ noticeId: string } | LiftRefusal> => {
    const r = await restrictionForLift(q, restrictionId);
    if (!r) return "not-found";
    if (r.status !== "active") return r.status;
    const lifted = await liftOnNotice(q, { restrictionId, requestId: r.requestId, subject: r.subject!, by: l.by, reason: l.reason });
    return lifted ?? "lifting";
  });
  if (typeof outcome !== "string") await enqueueNotice(s, outcome.noticeId);
  return outcome;
}

/**
 * A lift whose notice could not be sent (no address, refused by the mail server) takes effect
 * with the `dpo`'s reason for that; the processors are then told. False when the restriction is
 * not waiting for a failed notice.
 */
export async function liftDespiteNotice(s: RightsServices, restrictionId: string, l: { by: string; reason: string }): Promise<boolean> {
  const ok = await s.ds.transaction(async (q) => {
    const rows = (await q.query(
      `SELECT 1 FROM lethe.restriction x JOIN lethe.rights_notice n ON n.id = x.lift_notice_id WHERE x.id = $1 AND x.status = 'lifting' AND n.status = 'failed'`,
      [restrictionId],
    )) as unknown[];
    return rows.length === 1 && (await liftWithoutNotice(q, restrictionId, l.by, l.reason));
  });
  if (ok) await tellLift(s, restrictionId);
  return ok;
}

/**
 * After a lift took effect: one `lift-restriction` event for every recipient the `restrict` went
 * to, the restriction's sealed identities wiped in the same transaction, the jobs enqueued.
 * Idempotent (the reconciler calls it for lifted restrictions whose identities are still there).
 */
export async function tellLift(s: Pick<RightsServices, "ds" | "config" | "dataMap" | "queues">, restrictionId: string): Promise<void> {
  const created = await (s.ds as DataSource).transaction(async (q) => {
    const r = await restrictionForLift(q, restrictionId);
    if (!r || r.status !== "lifted" || !r.subject) return [];
    const sealed = decryptJson<RightsSealed>(s.config.encryptionKey, r.subject);
    const snapshot: SubjectSnapshot = { identities: sealed.identities ?? {}, seed: sealed.seed ?? {} };
    const told = (await eventsOfRequest(q, r.requestId)).filter((e) => e.action === "restrict");
    const recipients: Recipient[] = told.map((e) => ({ name: e.recipient, channel: e.channel }));
    const events = buildEvents(s.dataMap, s.config.encryptionKey, {
      requestId: r.requestId,
      action: "lift-restriction",
      snapshot,
      content: { restriction: { ground: r.ground, purpose: r.purpose } },
      recipients: recipients.filter((x) => x.channel === "manual" || s.dataMap.stores[x.name] !== undefined),
    });
    const keys = await insertRecipientEvents(q, events);
    await wipeRestrictionSubject(q, restrictionId);
    const pending = new Set(events.filter((e) => e.status === "pending").map((e) => e.recipient));
    return keys.filter((k) => pending.has(k.recipient));
  });
  await enqueueTellRecipients(s.queues.rights, s.config, created);
}
