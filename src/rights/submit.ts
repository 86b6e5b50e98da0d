import type { SubjectRequest } from "../db/entities/subject-request";
import { appendConsentEvent } from "../db/tables/consent-event";
import { insertRecipientEvents, type EventKey } from "../db/tables/recipient-event";
import { insertRightsRequest, type NeededDecision } from "../db/tables/rights-request";
import type { Sql } from "../db/tables/sql";
import { insertSuppression } from "../db/tables/suppression";
import { findRequestByIdempotencyKey, insertRequest, moveRequest } from "../db/tables/subject-request";
import { RequestInputError } from "../errors";
import { HttpProblem, PROBLEM_TYPES } from "../http/problem";
import { enqueueApplyRights } from "../queues/jobs/apply-rights";
import { enqueueTellRecipients } from "../queues/jobs/tell-recipient";
import { dueDateFor } from "../requests/due-date";
import type { FieldChange, ValueProblem } from "../stores/rights-side";
import { subjectHash } from "../subject/hashes";
import { matchOfIdentity } from "../subject/identity-match";
import { subjectRefOf } from "../subject/reference";
import { sealIdentities } from "../subject/sealed";
import type { SubjectSnapshot } from "../subject/snapshot";
import type { RequestStatus } from "../types";
import { rectificationChanges, withdrawalChanges } from "./fields";
import { buildEvents, recipientsOf } from "./recipients";
import { openRestriction } from "./restrictions";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";
import { keyHashOf, resolveOrThrow } from "./subject";
import type { ObjectionKind, RightsInput, RightsSealed } from "./types";

/** A new rights request as the API or the CLI received it. */
export interface SubmitRightInput {
  /** Exactly one entry: `id` or an identity of the data map's subject. */
  subject: Record<string, string>;
  right: RightsInput;
  idempotencyKey?: string;
  /** API key name (or `cli`). */
  requestedBy: string;
}

/** Proposed values that do not fit their columns: a 409 when another record holds one (unique), else a 400; each names its field. */
export class ValueProblemsError extends HttpProblem {
  constructor(readonly problems: ValueProblem[]) {
    const conflict = problems.some((p) => p.status === 409);
    const first = problems[0]!;
    super({
      type: conflict ? "urn:lethe:problem:conflict" : PROBLEM_TYPES.invalidRequest,
      title: conflict ? "Conflict" : "Invalid request",
      status: conflict ? 409 : 400,
      detail:
        problems.length === 1
          ? `${first.field}: ${first.message}`
          : `${problems.length} fields cannot take their values: ${problems.map((p) => p.field).join(", ")}`,
      errors: problems.map((p) => ({ field: p.field, message: p.message })),
    });
  }
}

/** A purpose of the data map by name, or a 400 naming the declared ones. */
function purposeOf(s: Pick<RightsServices, "dataMap">, name: string, field: string) {
  const p = s.dataMap.purposes.find((x) => x.name === name);
  if (!p)
    throw new RequestInputError(
      field,
      `"${name}" is not a purpose of the data map; it declares: ${s.dataMap.purposes.map((x) => x.name).join(", ") || "none"}`,
    );
  return p;
}

/** Checks a request against the data map (before the subject is looked up): what it will do. */
function planOf(s: Pick<RightsServices, "dataMap">, right: RightsInput): { changes: FieldChange[]; objection: ObjectionKind | null } {
  switch (right.type) {
    case "rectification":
      return { changes: rectificationChanges(s.dataMap, right.changes), objection: null };
    case "restriction":
      if (right.purpose !== undefined) purposeOf(s, right.purpose, "purpose");
      return { changes: [], objection: null };
    case "objection": {
      const p = purposeOf(s, right.purpose, "purpose");
      if (p.directMarketing) return { changes: [], objection: "direct-marketing" };
      if (p.basis === "6(1)(e)" || p.basis === "6(1)(f)") return { changes: [], objection: "21(1)" };
      throw new RequestInputError(
        "purpose",
        `an objection (Art. 21) concerns direct marketing or processing on Art. 6(1)(e) or (f); purpose "${p.name}" is ${p.basis ? `on Art. ${p.basis}` : "declared without a basis"}`,
      );
    }
    case "consent-withdrawal": {
      const p = purposeOf(s, right.purpose, "purpose");
      if (p.basis !== "6(1)(a)")
        throw new RequestInputError("purpose", `purpose "${p.name}" is not processed on consent (Art. 6(1)(a)); there is no consent to withdraw`);
      return { changes: withdrawalChanges(s.dataMap, p.name), objection: null };
    }
  }
}

/**
 * Records a rights request (see `rights/types` for what each does). The subject is looked up
 * first (404 when nobody matches) and a rectification's values are tried against the live
 * columns (409 / 400 naming the field); then, in one transaction, the request row with its sealed
 * snapshot, what the right takes effect through at once (a restriction, a suppression, a consent
 * event) and the recipients' events; then the jobs. The same idempotency key from the same caller
 * returns the existing request without checking anything again.
 */
export async function submitRight(s: RightsServices, input: SubmitRightInput): Promise<{ request: SubjectRequest; created: boolean }> {
  const ref = subjectRefOf(s.dataMap, input.subject);
  if (input.idempotencyKey) {
    const prior = await findRequestByIdempotencyKey(s.ds, input.requestedBy, input.idempotencyKey);
    if (prior) return { request: prior, created: false };
  }
  const right = input.right;
  const { changes, objection } = planOf(s, right);
  const snapshot = await resolveOrThrow(s.dataMap, s.stores, ref);
  if (right.type === "rectification") {
    const problems = (await s.stores.rights(s.dataMap.subject.store)?.checkValues?.(snapshot, changes)) ?? [];
    if (problems.length > 0) throw new ValueProblemsError(problems);
  }
  const receivedAt = new Date();
  const sealed: RightsSealed = {
    ref,
    identities: snapshot.identities,
    seed: snapshot.seed,
    ...(snapshot.contact ? { contact: snapshot.contact } : {}),
    ...(right.type === "rectification" ? { changes } : {}),
  };
  const by = input.requestedBy;
  const recorded = await s.ds.transaction(async (q) => {
    const row = await insertRequest(
      q,
      {
        type: right.type,
        dryRun: false,
        receivedAt,
        dueAt: dueDateFor(receivedAt),
        subjectHash: subjectHash(s.config.hmacKey, ref.name, ref.value, matchOfIdentity(s.dataMap.subject, ref.name)),
        identities: sealIdentities(s.config.encryptionKey, sealed),
        requestedBy: by,
        idempotencyKey: input.idempotencyKey ?? null,
        mapFingerprint: s.mapFingerprint ?? null,
      },
      auditDetailOf(right, ref.name, changes),
    );
    if (!row) return null;
    const events: EventKey[] = [];
    const step = await takeEffect(s, q, { requestId: row.id, right, snapshot, changes, objection, by, events });
    await insertRightsRequest(q, {
      requestId: row.id,
      fields: changes.map((c) => c.field),
      contested: right.type === "rectification" && right.contested === true,
      ground: right.type === "restriction" ? right.ground : objection,
      purpose: "purpose" in right ? (right.purpose ?? null) : null,
      source: right.type === "consent-withdrawal" ? right.source : null,
      needsDecision: step.needsDecision,
      storesDone: step.storesDone,
      restrictionId: step.restrictionId,
    });
    if (step.status !== "queued") await moveRequest(q, row.id, { from: ["queued"], to: step.status });
    return { row: { ...row, status: step.status }, events, runStores: !step.storesDone && step.status !== "awaiting_decision" };
  });
  if (!recorded) {
    const prior = await findRequestByIdempotencyKey(s.ds, by, input.idempotencyKey!);
    return { request: prior!, created: false };
  }
  try {
    await enqueueTellRecipients(s.queues.rights, s.config, recorded.events);
    if (recorded.runStores) await enqueueApplyRights(s.queues.rights, s.config, recorded.row.id);
    await settleRequest(s, recorded.row.id);
  } catch (err) {
    s.logger.warn({ requestId: recorded.row.id, err }, "enqueue failed; the reconciler will enqueue the request's jobs");
  }
  return { request: recorded.row, created: true };
}

/** What a right changes at once, inside the request's transaction; its status, decision and whether stores follow. */
async function takeEffect(
  s: RightsServices,
  q: Sql,
  r: {
    requestId: string;
    right: RightsInput;
    snapshot: SubjectSnapshot;
    changes: FieldChange[];
    objection: ObjectionKind | null;
    by: string;
    events: EventKey[];
  },
): Promise<{ status: RequestStatus; needsDecision: NeededDecision | null; storesDone: boolean; restrictionId: string | null }> {
  const { right, snapshot, requestId, by } = r;
  const tell = async (action: "object" | "withdraw-consent", purpose: string): Promise<void> => {
    const events = buildEvents(s.dataMap, s.config.encryptionKey, {
      requestId,
      action,
      snapshot,
      content: { purpose },
      recipients: recipientsOf(s.dataMap, action, purpose),
    });
    const created = await insertRecipientEvents(q, events);
    const pending = new Set(events.filter((e) => e.status === "pending").map((e) => e.recipient));
    r.events.push(...created.filter((k) => pending.has(k.recipient)));
  };
  const restrict = async (ground: string, purpose: string | null): Promise<string> => {
    const opened = await openRestriction(s, q, { requestId, snapshot, ground, purpose, by });
    r.events.push(...opened.events);
    return opened.restrictionId;
  };
  switch (right.type) {
    case "rectification": {
      const restrictionId = right.contested ? await restrict("a", null) : null;
      const approval = s.dataMap.rectification.requiresApproval;
      return { status: approval ? "awaiting_decision" : "queued", needsDecision: approval ? "approval" : null, storesDone: false, restrictionId };
    }
    case "restriction":
      return { status: "running", needsDecision: null, storesDone: true, restrictionId: await restrict(right.ground, right.purpose ?? null) };
    case "objection":
      if (r.objection === "direct-marketing") {
        // Art. 21(3): absolute, and in force before the API answers.
        await insertSuppression(q, { subjectHash: keyHashOf(s.config, snapshot), purpose: right.purpose, requestId, by });
        await tell("object", right.purpose);
        return { status: "running", needsDecision: null, storesDone: true, restrictionId: null };
      }
      return { status: "awaiting_decision", needsDecision: "objection", storesDone: true, restrictionId: await restrict("d", right.purpose) };
    case "consent-withdrawal":
      await appendConsentEvent(q, {
        subjectHash: keyHashOf(s.config, snapshot),
        purpose: right.purpose,
        event: "withdrawn",
        source: right.source,
        requestId,
        by,
      });
      await tell("withdraw-consent", right.purpose);
      return { status: "running", needsDecision: null, storesDone: r.changes.length === 0, restrictionId: null };
  }
}

/** The request's audit detail: its type, how the subject was named, fields and grounds — never a value. */
function auditDetailOf(right: RightsInput, by: string, changes: FieldChange[]): Record<string, unknown> {
  switch (right.type) {
    case "rectification":
      return { type: right.type, by, fields: changes.map((c) => c.field), contested: right.contested === true };
    case "restriction":
      return { type: right.type, by, ground: right.ground, purpose: right.purpose ?? null };
    case "objection":
      return { type: right.type, by, purpose: right.purpose };
    case "consent-withdrawal":
      return { type: right.type, by, purpose: right.purpose, fields: changes.map((c) => c.field) };
  }
}
