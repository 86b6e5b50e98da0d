import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { z } from "zod";
import { getRestriction } from "../../db/tables/restriction";
import { refusalMessage } from "../../rights/refusals";
import { liftDespiteNotice, liftRestriction } from "../../rights/restrictions";
import { grantConsent, subjectConsents, subjectRights } from "../../rights/subject-status";
import { requireScope } from "../auth";
import { HttpProblem, notFound } from "../problem";
import { MAX_SUBJECT_VALUE } from "../request-input";
import { rightsServicesOf } from "../rights-services";
import { parseOrProblem } from "../validation";

const conflict = (detail: string): HttpProblem => new HttpProblem({ type: "urn:lethe:problem:conflict", title: "Conflict", status: 409, detail });
const text = (what: string, max = 2000) =>
  z
    .string({ error: `give ${what}` })
    .trim()
    .min(1, `give ${what}`)
    .max(max, `must be at most ${max} characters`);

/** Query of `GET /v1/subjects/restrictions` and `…/consents`: exactly one of `id` or an identity (`?email=…`). */
export const SUBJECT_QUERY_SCHEMA = z.record(z.string(), z.string().min(1, "must not be empty").max(MAX_SUBJECT_VALUE));

/** Body of `POST /v1/restrictions/:id/lift`. `noticeNotPossible`: why the person cannot be told (only after the notice failed). */
export const LIFT_BODY_SCHEMA = z
  .object({ reason: text("the reason the restriction ends"), noticeNotPossible: text("why the person cannot be told").optional() })
  .strict();

/** Body of `POST /v1/consents`: a consent given (a grant; withdrawals are requests of type `consent-withdrawal`). */
export const CONSENT_BODY_SCHEMA = z
  .object({
    subject: z.record(z.string(), z.string().min(1).max(MAX_SUBJECT_VALUE)),
    purpose: text("the purpose", 200),
    source: text("where the consent was given (e.g. signup form v3)", 200),
  })
  .strict();

/**
 * Restrictions (Art. 18) and consents (Art. 7): `GET /v1/subjects/restrictions?id=…` (whether an
 * application may process a subject's data; `requests.read`), `GET /v1/subjects/consents?…`
 * (the consent ledger; `requests.read`), `POST /v1/consents` (a grant; `requests.write`),
 * `GET /v1/restrictions/:id` (`requests.read`), `POST /v1/restrictions/:id/lift` (`dpo`).
 * Register with `{ prefix: "/v1" }`.
 */
export const restrictionRoutes: FastifyPluginAsync = async (app) => {
  const s = rightsServicesOf(app);
  const keys = s.config.apiKeys;
  const read = { onRequest: requireScope(keys, "requests.read") };
  const subjectOf = (request: FastifyRequest): Record<string, string> => parseOrProblem(SUBJECT_QUERY_SCHEMA, request.query ?? {});

  app.get("/subjects/restrictions", read, async (request) => subjectRights(s, subjectOf(request)));

  app.get("/subjects/consents", read, async (request) => ({ events: await subjectConsents(s, subjectOf(request)) }));

  app.post("/consents", { onRequest: requireScope(keys, "requests.write") }, async (request, reply) => {
    const body = parseOrProblem(CONSENT_BODY_SCHEMA, request.body);
    const event = await grantConsent(s, { subject: body.subject, purpose: body.purpose, source: body.source, by: request.apiKeyName ?? "unknown" });
    reply.code(201);
    return event;
  });

  app.get<{ Params: { id: string } }>("/restrictions/:id", read, async (request) => {
    const r = await getRestriction(s.ds, request.params.id);
    if (!r) throw notFound("no restriction has this id");
    return r;
  });

  app.post<{ Params: { id: string } }>("/restrictions/:id/lift", { onRequest: requireScope(keys, "dpo") }, async (request, reply) => {
    const body = parseOrProblem(LIFT_BODY_SCHEMA, request.body);
    const by = request.apiKeyName ?? "unknown";
    if (body.noticeNotPossible !== undefined) {
      if (!(await liftDespiteNotice(s, request.params.id, { by, reason: body.noticeNotPossible }))) {
        throw conflict("a lift without notice is possible only once the notice to the person has failed (Art. 18(3))");
      }
      return getRestriction(s.ds, request.params.id);
    }
    const out = await liftRestriction(s, request.params.id, { by, reason: body.reason });
    if (out === "not-found") throw notFound("no restriction has this id");
    if (typeof out === "string") throw conflict(refusalMessage(out));
    reply.code(202);
    return { ...(await getRestriction(s.ds, request.params.id)), noticeId: out.noticeId };
  });
};
