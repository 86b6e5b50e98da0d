import { appendConsentEvent, consentLedger, type ConsentEventView } from "../db/tables/consent-event";
import { restrictionsOfSubject, type RestrictionView } from "../db/tables/restriction";
import { suppressionsOf, type SuppressionView } from "../db/tables/suppression";
import { RequestInputError } from "../errors";
import { subjectHash } from "../subject/hashes";
import { subjectRefOf } from "../subject/reference";
import type { RightsServices } from "./services";
import { keyHashOf, resolveOrThrow } from "./subject";

/** What an application asks before it processes a subject's data (`GET /v1/subjects/restrictions`). */
export interface SubjectRightsView {
  /** A restriction is in force (Art. 18): store the data, process it no further. */
  restricted: boolean;
  restrictions: RestrictionView[];
  /** Purposes the subject's data must not be processed for any more (an objection). */
  suppressions: SuppressionView[];
  /** Each purpose's latest consent event (Art. 7). */
  consents: Array<{ purpose: string; state: "granted" | "withdrawn"; since: string; source: string }>;
}

/** The keyed hash of the subject named by `subject`: by key without a look-up, by identity through the subject store. */
async function hashOf(s: Pick<RightsServices, "config" | "dataMap" | "stores">, subject: Record<string, string>): Promise<string> {
  const ref = subjectRefOf(s.dataMap, subject);
  if (ref.name === "id") return subjectHash(s.config.hmacKey, "id", ref.value);
  return keyHashOf(s.config, await resolveOrThrow(s.dataMap, s.stores, ref));
}

/** Whether a subject is restricted, what it objected to, and its consents. */
export async function subjectRights(
  s: Pick<RightsServices, "ds" | "config" | "dataMap" | "stores">,
  subject: Record<string, string>,
): Promise<SubjectRightsView> {
  const hash = await hashOf(s, subject);
  const [restrictions, suppressions, ledger] = await Promise.all([restrictionsOfSubject(s.ds, hash), suppressionsOf(s.ds, hash), consentLedger(s.ds, hash)]);
  const latest = new Map<string, ConsentEventView>();
  for (const e of ledger) latest.set(e.purpose, e);
  return {
    restricted: restrictions.some((r) => r.status !== "lifted"),
    restrictions,
    suppressions,
    consents: [...latest.values()].map((e) => ({ purpose: e.purpose, state: e.event, since: e.at, source: e.source })),
  };
}

/** A subject's whole consent ledger, oldest first. */
export async function subjectConsents(
  s: Pick<RightsServices, "ds" | "config" | "dataMap" | "stores">,
  subject: Record<string, string>,
): Promise<ConsentEventView[]> {
  return consentLedger(s.ds, await hashOf(s, subject));
}

/** Records a consent given (Art. 7(1): the controller can show it): an event of the ledger. The purpose must be processed on consent. */
export async function grantConsent(
  s: Pick<RightsServices, "ds" | "config" | "dataMap" | "stores">,
  g: { subject: Record<string, string>; purpose: string; source: string; by: string },
): Promise<ConsentEventView> {
  const p = s.dataMap.purposes.find((x) => x.name === g.purpose);
  if (!p) throw new RequestInputError("purpose", `"${g.purpose}" is not a purpose of the data map`);
  if (p.basis !== "6(1)(a)") throw new RequestInputError("purpose", `purpose "${p.name}" is not processed on consent (Art. 6(1)(a))`);
  const hash = keyHashOf(s.config, await resolveOrThrow(s.dataMap, s.stores, subjectRefOf(s.dataMap, g.subject)));
  const id = await appendConsentEvent(s.ds, { subjectHash: hash, purpose: p.name, event: "granted", source: g.source, requestId: null, by: g.by });
  return (await consentLedger(s.ds, hash)).find((e) => e.id === id)!;
}
