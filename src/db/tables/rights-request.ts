import type { Sql } from "./sql";

/**
 * Owner of `lethe.rights_request`: what a rectification, restriction, objection or consent
 * withdrawal records beyond the request row — field names (never values), the ground, purpose and
 * source, the decision a `dpo` key took, whether the stores are done, the restriction it opened.
 */

/** A decision a request waits for: a rectification's approval, an objection's outcome. */
export type NeededDecision = "approval" | "objection";
/** A decision taken. */
export type Decision = "approved" | "rejected" | "upheld";

/** A `lethe.rights_request` row. */
export interface RightsRequestRow {
  requestId: string;
  /** Rectification: the fields changed; consent withdrawal: the fields erased. Names only. */
  fields: string[];
  contested: boolean;
  /** Restriction: `a`…`d` (Art. 18(1)); objection: `direct-marketing` or `21(1)`. */
  ground: string | null;
  purpose: string | null;
  /** Consent withdrawal: where it was given. */
  source: string | null;
  needsDecision: NeededDecision | null;
  decision: Decision | null;
  decisionReason: string | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  /** The stores' part is done (or there is none). */
  storesDone: boolean;
  restrictionId: string | null;
}

interface Row {
  request_id: string;
  fields: string[];
  contested: boolean;
  ground: string | null;
  purpose: string | null;
  source: string | null;
  needs_decision: NeededDecision | null;
  decision: Decision | null;
  decision_reason: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  stores_done: boolean;
  restriction_id: string | null;
}

function fromRow(r: Row): RightsRequestRow {
  return {
    requestId: r.request_id,
    fields: r.fields,
    contested: r.contested,
    ground: r.ground,
    purpose: r.purpose,
    source: r.source,
    needsDecision: r.needs_decision,
    decision: r.decision,
    decisionReason: r.decision_reason,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    storesDone: r.stores_done,
    restrictionId: r.restriction_id,
  };
}

/** What a new row holds. */
export type NewRightsRequest = Pick<
  RightsRequestRow,
  "requestId" | "fields" | "contested" | "ground" | "purpose" | "source" | "needsDecision" | "storesDone" | "restrictionId"
>;

/** Records a request's rights details (idempotent: a second insert for the same request does nothing). */
export async function insertRightsRequest(q: Sql, r: NewRightsRequest): Promise<void> {
  await q.query(
    `INSERT INTO lethe.rights_request (request_id, fields, contested, ground, purpose, source, needs_decision, stores_done, restriction_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (request_id) DO NOTHING`,
    [r.requestId, r.fields, r.contested, r.ground, r.purpose, r.source, r.needsDecision, r.storesDone, r.restrictionId],
  );
}

/** A request's rights details, or undefined. */
export async function getRightsRequest(q: Sql, requestId: string): Promise<RightsRequestRow | undefined> {
  const rows = (await q.query(`SELECT * FROM lethe.rights_request WHERE request_id = $1`, [requestId])) as Row[];
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The stores' part of the request is done. */
export async function markStoresDone(q: Sql, requestId: string): Promise<void> {
  await q.query(`UPDATE lethe.rights_request SET stores_done = true WHERE request_id = $1`, [requestId]);
}

/** Records a decision once; false when one was recorded already (or none is awaited). */
export async function recordDecision(q: Sql, requestId: string, d: { decision: Decision; reason: string | null; by: string }): Promise<boolean> {
  const rows = (await q.query(
    `WITH u AS (
       UPDATE lethe.rights_request SET decision = $2, decision_reason = $3, decided_by = $4, decided_at = now()
        WHERE request_id = $1 AND decision IS NULL AND needs_decision IS NOT NULL RETURNING 1)
     SELECT count(*)::int AS n FROM u`,
    [requestId, d.decision, d.reason, d.by],
  )) as Array<{ n: number }>;
  return rows[0]?.n === 1;
}

/** A condition on request id expression `idExpr`: its stores' part is done (true for requests without a rights row). */
export function storesDoneSql(idExpr: string): string {
  return `coalesce((SELECT rr.stores_done FROM lethe.rights_request rr WHERE rr.request_id = ${idExpr}), true)`;
}
