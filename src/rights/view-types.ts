import type { ExtensionView } from "../db/tables/request-extension";
import type { RestrictionView } from "../db/tables/restriction";
import type { NoticeView } from "../db/tables/rights-notice";
import type { RightsStep } from "../stores/rights-side";

/** What a rights request shows beyond the common request view: names, grounds and counts only, never a value. */
export interface RightsView {
  /** Rectification: the fields changed; consent withdrawal: the fields erased. */
  fields: string[];
  contested: boolean;
  /** Restriction: `a`…`d` (Art. 18(1)); objection: `direct-marketing` or `21(1)`. */
  ground: string | null;
  purpose: string | null;
  source: string | null;
  /** The decision a `dpo` key takes (a rectification's approval, an objection's outcome), once awaited. */
  decision: { needed: string; outcome: string | null; reason: string | null; decidedBy: string | null; decidedAt: string | null } | null;
  /** Each store's part: `done` with its steps, or `not_applicable` with the store's reason. */
  stores: Array<{ store: string; status: string; steps: RightsStep[]; note: string | null }>;
  /** Restrictions the request opened. */
  restrictions: RestrictionView[];
}

/** The Art. 12(3) extension as a request shows it, with its notice's delivery. */
export type ExtensionSection = ExtensionView & { notice: NoticeView | null };

/** Recipients (Art. 19) of a request: how many events are in each status. */
export type RecipientCounts = Record<string, number>;
