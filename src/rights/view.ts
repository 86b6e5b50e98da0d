import type { DataSource } from "typeorm";
import type { SubjectRequest } from "../db/entities/subject-request";
import { eventsOfRequest } from "../db/tables/recipient-event";
import { getExtension } from "../db/tables/request-extension";
import { restrictionsOfRequest } from "../db/tables/restriction";
import { noticesOfRequest } from "../db/tables/rights-notice";
import { getRightsRequest } from "../db/tables/rights-request";
import { rightsStoresOf } from "../db/tables/rights-store";
import type { RequestView } from "../requests/view";

/**
 * The rights sections of a request's view: for a rights request what it does (fields, ground,
 * purpose, decision, stores, restrictions); for any request its extension, notices and
 * recipients (Art. 19) when it has any. Names, statuses and counts only.
 */
export async function rightsSectionsOf(ds: DataSource, request: Pick<SubjectRequest, "id" | "type">): Promise<Partial<RequestView>> {
  const [rr, extension, notices, events] = await Promise.all([
    getRightsRequest(ds, request.id),
    getExtension(ds, request.id),
    noticesOfRequest(ds, request.id),
    eventsOfRequest(ds, request.id),
  ]);
  const out: Partial<RequestView> = {};
  if (rr) {
    out.rights = {
      fields: rr.fields,
      contested: rr.contested,
      ground: rr.ground,
      purpose: rr.purpose,
      source: rr.source,
      decision: rr.needsDecision
        ? { needed: rr.needsDecision, outcome: rr.decision, reason: rr.decisionReason, decidedBy: rr.decidedBy, decidedAt: rr.decidedAt?.toISOString() ?? null }
        : null,
      stores: (await rightsStoresOf(ds, request.id)).map((r) => ({ store: r.store, status: r.status, steps: r.steps, note: r.note })),
      restrictions: await restrictionsOfRequest(ds, request.id),
    };
  }
  if (extension) out.extension = { ...extension, notice: notices.find((n) => n.id === extension.noticeId) ?? null };
  if (notices.length > 0) out.notices = notices;
  if (events.length > 0) {
    const counts: Record<string, number> = {};
    for (const e of events) counts[e.status] = (counts[e.status] ?? 0) + 1;
    out.recipients = counts;
  }
  return out;
}
