import type { RequestStep } from "../db/entities/request-step";
import type { SubjectRequest } from "../db/entities/subject-request";
import type { ExportView } from "../exports/export-view";
import type { NoticeView } from "../db/tables/rights-notice";
import type { ExtensionSection, RecipientCounts, RightsView } from "../rights/view-types";
import type { RequestStatus, RequestType, StepAction } from "../types";
import { isVerified, outcomeOf, type RequestOutcome } from "./outcome";

/** The public shape of a request (`GET /v1/requests/:id`, `lethe status`). No personal data. */
export interface RequestView {
  id: string;
  type: RequestType;
  status: RequestStatus;
  dryRun: boolean;
  receivedAt: string;
  dueAt: string;
  completedAt: string | null;
  /**
   * How the request ended (null until it completed): `done`, `previewed` (a dry run, nothing
   * changed) or `subject_not_found` (no subject matched: nothing erased, exported or mailed).
   */
  outcome: RequestOutcome | null;
  /** Whether a subject matched (null until the request completed). */
  subjectFound: boolean | null;
  /** An erasure that re-checked every store after the change and found nothing left; false otherwise. */
  verified: boolean;
  steps: Array<{ store: string; table: string; action: StepAction; rows: number; ground?: string }>;
  error: { code: string; message: string } | null;
  /** An export request's zip and mail (null until it is built); absent for other types. */
  export?: ExportView | null;
  /** The legal hold a `held` request waits for (no personal data: the ground and its end). */
  hold?: { id: string; ground: string; until: string | null };
  /** A rectification, restriction, objection or consent withdrawal: what it does (`rights/`). */
  rights?: RightsView;
  /** The Art. 12(3) extension and its notice, when the request was extended. */
  extension?: ExtensionSection;
  /** Notices sent (or to send) to the person: extension, refusal, restriction lifted, objection decision. */
  notices?: NoticeView[];
  /** Recipients told of the request (Art. 19), by status; details at `GET /v1/requests/:id/recipients`. */
  recipients?: RecipientCounts;
}

/** Builds a {@link RequestView}; a preview shows its planned counts as steps. */
export function toRequestView(r: SubjectRequest, steps: RequestStep[], exportView: ExportView | null = null): RequestView {
  const source = steps.length > 0 || !r.result ? steps : r.result.steps;
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    dryRun: r.dryRun,
    receivedAt: r.receivedAt.toISOString(),
    dueAt: r.dueAt.toISOString(),
    completedAt: r.completedAt ? r.completedAt.toISOString() : null,
    outcome: outcomeOf(r),
    subjectFound: r.status === "completed" ? (r.result?.subjectFound ?? null) : null,
    verified: isVerified(r),
    steps: source.map((s) => ({
      store: s.store,
      table: s.table,
      action: s.action,
      rows: s.rows,
      ...(s.ground ? { ground: s.ground } : {}),
    })),
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? "" } : null,
    ...(r.type === "export" ? { export: exportView } : {}),
  };
}
