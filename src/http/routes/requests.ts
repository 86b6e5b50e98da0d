import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Config } from "../../config";
import type { SubjectRequest } from "../../db/entities/subject-request";
import { getRequestView, submitRequest } from "../../requests/service";
import { requireScope } from "../auth";
import { HttpProblem, notFound, PROBLEM_TYPES } from "../problem";
import { idempotencyKeyOf, MAX_SUBJECT_VALUE } from "../request-input";
import { RIGHTS_TYPES } from "../../rights/types";
import { isRightsBody, submitRightRoute } from "./rights-requests";
import { parseOrProblem } from "../validation";
import { subjectHash } from "../../subject/hashes";
import { matchOfIdentity, type MatchRule } from "../../subject/identity-match";
import { subjectRefOf } from "../../subject/reference";
import { assertSubjectKeyFits } from "../../subject/key-value";

/** Request types this body schema accepts; the other rights' types are `routes/rights-requests`. */
export const ACCEPTED_REQUEST_TYPES = ["erasure", "export"] as const;

export { idempotencyKeyOf, MAX_SUBJECT_VALUE } from "../request-input";

/** Body of `POST /v1/requests`. Strict: an unknown field is a 400 naming it. */
export const SUBMIT_BODY_SCHEMA = z
  .object(
    {
      type: z.enum(ACCEPTED_REQUEST_TYPES, {
        error: (iss) => (iss.input === undefined ? "is required" : `must be one of: ${[...ACCEPTED_REQUEST_TYPES, ...RIGHTS_TYPES].join(", ")}`),
      }),
      subject: z.record(
        z.string(),
        z.string({ error: "must be a string" }).min(1, "must not be empty").max(MAX_SUBJECT_VALUE, `must be at most ${MAX_SUBJECT_VALUE} characters`),
        { error: (iss) => (iss.input === undefined ? "is required" : 'must be an object such as {"id": "42"}') },
      ),
      dryRun: z.boolean({ error: "must be true or false" }).optional(),
    },
    { error: "send a JSON object with type and subject" },
  )
  .strict();

/** A validated `POST /v1/requests` body. */
export type SubmitBody = z.output<typeof SUBMIT_BODY_SCHEMA>;

/** True when a replayed idempotency key carries the same request as the stored one. */
function isSameRequest(config: Config, stored: SubjectRequest, body: SubmitBody, ref: { name: string; value: string; match: MatchRule }): boolean {
  return (
    stored.type === body.type && stored.dryRun === (body.dryRun ?? false) && stored.subjectHash === subjectHash(config.hmacKey, ref.name, ref.value, ref.match)
  );
}

/**
 * `POST /v1/requests` (scope `requests.write`) and `GET /v1/requests/:id` (`requests.read`).
 * Register with `{ prefix: "/v1" }`.
 */
export const requestRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap } = app.services;
  const keys = config.apiKeys;

  app.post("/requests", { onRequest: requireScope(keys, "requests.write") }, async (request, reply) => {
    if (isRightsBody(request.body)) return submitRightRoute(request, reply);
    const body = parseOrProblem(SUBMIT_BODY_SCHEMA, request.body);
    const idempotencyKey = idempotencyKeyOf(request.headers["idempotency-key"]);
    const named = subjectRefOf(dataMap, body.subject);
    await assertSubjectKeyFits(dataMap, app.services.pools, body.subject);
    const ref = { ...named, match: matchOfIdentity(dataMap.subject, named.name) };
    const { request: stored, created } = await submitRequest(app.services, {
      type: body.type,
      subject: body.subject,
      dryRun: body.dryRun,
      idempotencyKey,
      requestedBy: request.apiKeyName ?? "unknown",
    });
    if (!created) {
      if (!isSameRequest(config, stored, body, ref)) {
        throw new HttpProblem({
          type: PROBLEM_TYPES.idempotencyKeyReused,
          title: "Idempotency key reused",
          status: 422,
          detail: "this Idempotency-Key was already used for a different request; use a new key",
        });
      }
      reply.header("idempotent-replayed", "true");
    }
    reply.code(202).header("location", `/v1/requests/${stored.id}`);
    return { id: stored.id, status: stored.status, dueAt: stored.dueAt.toISOString() };
  });

  app.get<{ Params: { id: string } }>("/requests/:id", { onRequest: requireScope(keys, "requests.read") }, async (request) => {
    const view = await getRequestView(ds, request.params.id);
    if (!view) throw notFound("no request has this id");
    return view;
  });
};
