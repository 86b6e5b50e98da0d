import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { RECIPIENT_ACTIONS } from "../../stores/rights-side";
import { approveRectification, decideObjection, refuseRequest, rejectRectification, type DecisionRefusal } from "../../rights/decide";
import { extendRequest, type ExtensionRefusal } from "../../rights/extend";
import { refusalMessage } from "../../rights/refusals";
import { recipientsOfRequest, settleRecipient } from "../../rights/recipient-list";
import { submitRight } from "../../rights/submit";
import { RESTRICTION_GROUNDS, RIGHTS_TYPES } from "../../rights/types";
import { subjectHash } from "../../subject/hashes";
import { matchOfIdentity } from "../../subject/identity-match";
import { subjectRefOf } from "../../subject/reference";
import { assertSubjectKeyFits } from "../../subject/key-value";
import { requireScope } from "../auth";
import { HttpProblem, notFound } from "../problem";
import { rightsServicesOf } from "../rights-services";
import { parseOrProblem } from "../validation";
import { idempotencyKeyOf, MAX_SUBJECT_VALUE } from "../request-input";

const conflict = (detail: string): HttpProblem => new HttpProblem({ type: "urn:lethe:problem:conflict", title: "Conflict", status: 409, detail });

const subject = z.record(
  z.string(),
  z.string({ error: "must be a string" }).min(1, "must not be empty").max(MAX_SUBJECT_VALUE, `must be at most ${MAX_SUBJECT_VALUE} characters`),
  { error: (iss) => (iss.input === undefined ? "is required" : 'must be an object such as {"id": "42"}') },
);
const text = (what: string, max = 2000) =>
  z
    .string({ error: `give ${what}` })
    .trim()
    .min(1, `give ${what}`)
    .max(max, `must be at most ${max} characters`);

/** Bodies of `POST /v1/requests` for the rights types. Strict: an unknown field is a 400 naming it. */
export const RIGHTS_BODY_SCHEMA = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("rectification"),
      subject,
      changes: z
        .array(z.object({ field: z.string().min(1).max(200), value: z.string({ error: "must be a string or null" }).nullable() }).strict())
        .min(1, "name at least one field")
        .max(50),
      contested: z.boolean({ error: "must be true or false" }).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("restriction"),
      subject,
      ground: z.enum(RESTRICTION_GROUNDS, { error: "must be a, b, c or d (Art. 18(1))" }),
      purpose: text("a purpose", 200).optional(),
    })
    .strict(),
  z.object({ type: z.literal("objection"), subject, purpose: text("the purpose objected to", 200) }).strict(),
  z
    .object({
      type: z.literal("consent-withdrawal"),
      subject,
      purpose: text("the purpose", 200),
      source: text("where the withdrawal came from (e.g. web form)", 200),
    })
    .strict(),
]);

/** Body of `POST /v1/requests/:id/extend`. */
export const EXTEND_BODY_SCHEMA = z
  .object({ months: z.union([z.literal(1), z.literal(2)], { error: "must be 1 or 2" }), reason: text("the reason (Art. 12(3))") })
  .strict();
/** Body of `POST /v1/requests/:id/refuse` and `…/reject`. */
export const REASON_BODY_SCHEMA = z.object({ reason: text("the reason") }).strict();
/** Body of `POST /v1/requests/:id/approve`. */
export const APPROVE_BODY_SCHEMA = z.object({ reason: text("a reason").optional() }).strict();
/** Body of `POST /v1/requests/:id/decision`. */
export const DECISION_BODY_SCHEMA = z
  .object({ outcome: z.enum(["upheld", "rejected"], { error: "must be upheld or rejected" }), grounds: text("the grounds") })
  .strict();
/** Body of `POST /v1/requests/:id/recipients/:recipient`. */
export const RECIPIENT_BODY_SCHEMA = z
  .object({
    action: z.enum(RECIPIENT_ACTIONS, { error: `must be one of: ${RECIPIENT_ACTIONS.join(", ")}` }),
    status: z.enum(["done", "impossible"], { error: "must be done or impossible" }),
    reason: text("the reason", 2000).optional(),
  })
  .strict()
  .refine((b) => b.status !== "impossible" || b.reason !== undefined, {
    path: ["reason"],
    message: "give the reason telling this recipient is impossible or disproportionate (Art. 19)",
  });

/** True when `body` is a rights request (`POST /v1/requests` hands it here). */
export function isRightsBody(body: unknown): boolean {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === "string" && (RIGHTS_TYPES as readonly string[]).includes(type);
}

/** `POST /v1/requests` for a rights type (scope `requests.write`, checked by the caller's route). */
export async function submitRightRoute(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const s = rightsServicesOf(request.server);
  const body = parseOrProblem(RIGHTS_BODY_SCHEMA, request.body);
  const idempotencyKey = idempotencyKeyOf(request.headers["idempotency-key"]);
  const { subject: who, ...right } = body;
  const ref = subjectRefOf(s.dataMap, who);
  await assertSubjectKeyFits(s.dataMap, request.server.services.pools, who);
  const { request: stored, created } = await submitRight(s, {
    subject: who,
    right,
    ...(idempotencyKey ? { idempotencyKey } : {}),
    requestedBy: request.apiKeyName ?? "unknown",
  });
  if (!created) {
    if (stored.type !== body.type || stored.subjectHash !== subjectHash(s.config.hmacKey, ref.name, ref.value, matchOfIdentity(s.dataMap.subject, ref.name))) {
      throw new HttpProblem({
        type: "urn:lethe:problem:idempotency-key-reused",
        title: "Idempotency key reused",
        status: 422,
        detail: "this Idempotency-Key was already used for a different request; use a new key",
      });
    }
    reply.header("idempotent-replayed", "true");
  }
  reply.code(202).header("location", `/v1/requests/${stored.id}`);
  return { id: stored.id, status: stored.status, dueAt: stored.dueAt.toISOString() };
}

function refusal(outcome: DecisionRefusal | ExtensionRefusal): HttpProblem {
  return outcome === "not-found" ? notFound("no request has this id") : conflict(refusalMessage(outcome));
}

/**
 * The controller's decisions on requests (scope `dpo`): `POST /v1/requests/:id/extend`,
 * `…/refuse`, `…/approve`, `…/reject`, `…/decision`, and recipients (Art. 19):
 * `GET /v1/requests/:id/recipients` (`requests.read`), `POST /v1/requests/:id/recipients/:recipient`
 * (`dpo`). Register with `{ prefix: "/v1" }`.
 */
export const rightsRequestRoutes: FastifyPluginAsync = async (app) => {
  const s = rightsServicesOf(app);
  const keys = s.config.apiKeys;
  const dpo = { onRequest: requireScope(keys, "dpo") };
  const read = { onRequest: requireScope(keys, "requests.read") };
  const by = (request: FastifyRequest): string => request.apiKeyName ?? "unknown";

  app.post<{ Params: { id: string } }>("/requests/:id/extend", dpo, async (request) => {
    const body = parseOrProblem(EXTEND_BODY_SCHEMA, request.body);
    const out = await extendRequest(s, request.params.id, { months: body.months, reason: body.reason, by: by(request) });
    if (typeof out === "string") throw refusal(out);
    return { id: request.params.id, dueAt: out.dueAt.toISOString(), noticeId: out.noticeId };
  });

  app.post<{ Params: { id: string } }>("/requests/:id/refuse", dpo, async (request) => {
    const body = parseOrProblem(REASON_BODY_SCHEMA, request.body);
    const out = await refuseRequest(s, request.params.id, { reason: body.reason, by: by(request) });
    if (typeof out === "string") throw refusal(out);
    return { id: request.params.id, status: "refused", noticeId: out.noticeId };
  });

  app.post<{ Params: { id: string } }>("/requests/:id/approve", dpo, async (request, reply) => {
    const body = parseOrProblem(APPROVE_BODY_SCHEMA, request.body ?? {});
    const out = await approveRectification(s, request.params.id, { reason: body.reason ?? null, by: by(request) });
    if (out !== "approved") throw refusal(out);
    reply.code(202);
    return { id: request.params.id, status: "queued" };
  });

  app.post<{ Params: { id: string } }>("/requests/:id/reject", dpo, async (request) => {
    const body = parseOrProblem(REASON_BODY_SCHEMA, request.body);
    const out = await rejectRectification(s, request.params.id, { reason: body.reason, by: by(request) });
    if (typeof out === "string") throw refusal(out);
    return { id: request.params.id, status: "refused", noticeId: out.noticeId };
  });

  app.post<{ Params: { id: string } }>("/requests/:id/decision", dpo, async (request) => {
    const body = parseOrProblem(DECISION_BODY_SCHEMA, request.body);
    const out = await decideObjection(s, request.params.id, { outcome: body.outcome, grounds: body.grounds, by: by(request) });
    if (typeof out === "string") throw refusal(out);
    return { id: request.params.id, outcome: body.outcome, noticeId: out.noticeId };
  });

  app.get<{ Params: { id: string } }>("/requests/:id/recipients", read, async (request) => {
    const list = await recipientsOfRequest(s, request.params.id);
    if (!list) throw notFound("no request has this id");
    return { requestId: request.params.id, recipients: list };
  });

  app.post<{ Params: { id: string; recipient: string } }>("/requests/:id/recipients/:recipient", dpo, async (request) => {
    const body = parseOrProblem(RECIPIENT_BODY_SCHEMA, request.body);
    const out = await settleRecipient(
      s,
      request.params.id,
      { recipient: request.params.recipient, action: body.action },
      { status: body.status, reason: body.reason ?? null, by: by(request) },
    );
    if (out === "not-found") throw notFound("the request has no such recipient event");
    if (out === "not-open") throw conflict("only a manual task, or a processor event that failed or did not know the action, can be settled by hand");
    return { requestId: request.params.id, recipient: request.params.recipient, action: body.action, status: body.status };
  });
};
