import type { FieldChange } from "../stores/rights-side";
import type { SealedIdentities } from "../subject/sealed";

/**
 * The other data-subject rights, one request type each.
 *
 * Terminology
 * - rectification (Art. 16): changes `[{field, value}]` of personal fields of the subject table,
 *   applied per store (copies declared as `mirrors` follow), passed on to processors (Art. 19).
 * - restriction (Art. 18): the subject's data is only stored while a ground of 18(1)(a)–(d)
 *   holds; sweeps skip them, exports mark them, processors are told; lifted only after the
 *   person was told (18(3)).
 * - objection (Art. 21): to direct marketing (absolute, a suppression at once) or under 21(1)
 *   (a restriction on ground (d) until a `dpo` key decides).
 * - consent withdrawal (Art. 7(3)): an event of the consent ledger, passed on to the purpose's
 *   processors; fields held only on that consent are erased.
 * - recipient event (Art. 19): one per request, recipient and action.
 * - notice: mail to the person (extension, refusal, restriction lifted, objection decision).
 */

/** The request types of this module. */
export const RIGHTS_TYPES = ["rectification", "restriction", "objection", "consent-withdrawal"] as const;
/** One of {@link RIGHTS_TYPES}. */
export type RightsType = (typeof RIGHTS_TYPES)[number];

/** True when `type` is one of {@link RIGHTS_TYPES}. */
export function isRightsType(type: string): type is RightsType {
  return (RIGHTS_TYPES as readonly string[]).includes(type);
}

/** The grounds of Art. 18(1): (a) accuracy contested, (b) unlawful but erasure opposed, (c) needed for legal claims, (d) objection pending. */
export const RESTRICTION_GROUNDS = ["a", "b", "c", "d"] as const;
/** One of {@link RESTRICTION_GROUNDS}. */
export type RestrictionGround = (typeof RESTRICTION_GROUNDS)[number];

/** An objection's kind: to direct marketing (Art. 21(2)) or to processing on 6(1)(e)/(f) (Art. 21(1)). */
export type ObjectionKind = "direct-marketing" | "21(1)";

/** What a rights request seals on its row while it runs: the reference, the snapshot, a rectification's new values. */
export interface RightsSealed extends SealedIdentities {
  changes?: FieldChange[];
}

/** A rights request as the API or the CLI received it (validated shape; checked against the map by `submitRight`). */
export type RightsInput =
  | { type: "rectification"; changes: Array<{ field: string; value: string | null }>; contested?: boolean }
  | { type: "restriction"; ground: RestrictionGround; purpose?: string }
  | { type: "objection"; purpose: string }
  | { type: "consent-withdrawal"; purpose: string; source: string };
