import { insertExtension, getExtension } from "../db/tables/request-extension";
import { insertNotice } from "../db/tables/rights-notice";
import { lockRequest, setDueDate } from "../db/tables/subject-request";
import { dueDateFor } from "../requests/due-date";
import { isFinal } from "../requests/status";
import { openIdentities } from "../subject/sealed";
import { enqueueNotice } from "./notices";
import type { RightsServices } from "./services";
import { encryptJson } from "../crypto";

/** Why an extension was refused. */
export type ExtensionRefusal = "not-found" | "final" | "already-extended" | "past-due" | "no-subject";

/** The person's reference a notice seals, from a request's sealed identities: by key when the snapshot has it. */
export function noticeSubjectOf(encryptionKey: Buffer, identities: Buffer): Buffer {
  const sealed = openIdentities(encryptionKey, identities);
  const id = sealed.identities?.id;
  return encryptJson(encryptionKey, { ref: id !== undefined ? { name: "id", value: id } : sealed.ref });
}

/**
 * Art. 12(3): extends a request once, before its original due date, by one or two further months
 * (counted in calendar months from receipt), with the reason; in the same transaction the notice
 * to the person is queued. Any request type; a finished one cannot be extended.
 */
export async function extendRequest(
  s: RightsServices,
  requestId: string,
  e: { months: 1 | 2; reason: string; by: string; now?: Date },
): Promise<{ dueAt: Date; noticeId: string } | ExtensionRefusal> {
  const outcome = await s.ds.transaction(async (q): Promise<{ dueAt: Date; noticeId: string } | ExtensionRefusal> => {
    const r = await lockRequest(q, requestId);
    if (!r) return "not-found";
    if (isFinal(r.status)) return "final";
    if (await getExtension(q, requestId)) return "already-extended";
    if ((e.now ?? new Date()).getTime() >= r.dueAt.getTime()) return "past-due";
    if (!r.identities) return "no-subject";
    const dueAt = dueDateFor(r.receivedAt, 1 + e.months);
    const noticeId = await insertNotice(q, {
      requestId,
      kind: "extension",
      restrictionId: null,
      subject: noticeSubjectOf(s.config.encryptionKey, r.identities),
      vars: { months: String(e.months), dueAt: dueAt.toISOString().slice(0, 10), originalDueAt: r.dueAt.toISOString().slice(0, 10) },
      reason: e.reason,
    });
    if (
      !(await insertExtension(q, { requestId, months: e.months, reason: e.reason, originalDueAt: r.dueAt, by: e.by, noticeId, subjectHash: r.subjectHash }))
    ) {
      throw new Error("the request was extended concurrently");
    }
    await setDueDate(q, requestId, dueAt);
    return { dueAt, noticeId };
  });
  if (typeof outcome !== "string") await enqueueNotice(s, outcome.noticeId);
  return outcome;
}
