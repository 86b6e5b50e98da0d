import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { getHold } from "../../db/tables/legal-hold";
import { findRequest } from "../../db/tables/subject-request";
import { retryRight } from "../../rights/retry";
import { isRightsType } from "../../rights/types";
import { rightsServicesOf } from "../rights-services";
import { placeHold, releaseHold } from "../../holds/holds";
import { matchOfIdentity } from "../../subject/identity-match";
import { buildReceipt, receiptKeys, signReceipt } from "../../receipts/receipt";
import { retryExportMail, retryRequest, type RetryRefusal } from "../../requests/retry";
import { enqueueRequest } from "../../queues/jobs/erase-request";
import { requireScope } from "../auth";
import { HttpProblem, notFound } from "../problem";
import { parseOrProblem } from "../validation";
import { subjectRefOf } from "../../subject/reference";
import { assertSubjectKeyFits } from "../../subject/key-value";

const conflict = (detail: string): HttpProblem => new HttpProblem({ type: "urn:lethe:problem:conflict", title: "Conflict", status: 409, detail });

/** Body of `POST /v1/holds`. */
export const HOLD_BODY_SCHEMA = z
  .object({
    subject: z.record(z.string(), z.string().min(1).max(320)),
    ground: z.string().min(3, "give the legal ground (e.g. litigation hold, case number)").max(500),
    until: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }).optional(),
  })
  .strict();

/** Retries a failed request of any type (an erasure resumes at its failed stores; a right at its failed steps). */
export async function retryAnyRequest(app: FastifyInstance, id: string, by: string): Promise<"retried" | RetryRefusal> {
  const { ds, config, dataMap, queues } = app.services;
  const known = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? await findRequest(ds, id) : null;
  if (known && isRightsType(known.type)) return retryRight(rightsServicesOf(app), id, by);
  // An export whose mail stayed undeliverable kept its file and link: the mail is sent again.
  if (known?.type === "export") return retryExportMail(ds, rightsServicesOf(app).queues.mail, config, id, by);
  return retryRequest(ds, queues.erasure, config, dataMap, id, by);
}

/** The problem answering a refused retry. */
export function retryProblem(outcome: RetryRefusal): HttpProblem {
  switch (outcome) {
    case "not-found":
      return notFound("no request has this id");
    case "not-failed":
      return conflict("only a failed request can be retried");
    case "identities-wiped":
      return conflict("this request failed in a way no retry can fix (its identities were wiped); make a new request");
    case "still-active":
      return conflict("a job of this request is still running; try again when it has stopped");
  }
}

/**
 * `POST /v1/requests/:id/retry`, `GET /v1/requests/:id/receipt`, `GET /v1/receipts/public-key`,
 * and legal holds: `POST /v1/holds` and `DELETE /v1/holds/:id` (`holds.write`), `GET /v1/holds/:id` (`requests.read`).
 */
export const lifecycleRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap, queues } = app.services;
  const keys = config.apiKeys;
  const retry = { onRequest: requireScope(keys, ["requests.write", "operate"]) };
  const read = { onRequest: requireScope(keys, "requests.read") };
  // A legal hold is a legal decision, not an application's: its own scope, not granted with requests.write.
  const holds = { onRequest: requireScope(keys, "holds.write") };

  app.post<{ Params: { id: string } }>("/requests/:id/retry", retry, async (request, reply) => {
    const outcome = await retryAnyRequest(app, request.params.id, request.apiKeyName ?? "unknown");
    if (outcome !== "retried") throw retryProblem(outcome);
    reply.code(202);
    return { id: request.params.id, status: "queued" };
  });

  app.get<{ Params: { id: string } }>("/requests/:id/receipt", read, async (request) => {
    const receipt = await buildReceipt(ds, dataMap, request.params.id);
    if (receipt === null) throw notFound("no request has this id");
    if (receipt === "unfinished") throw conflict("the request has not completed; a receipt exists only for completed requests");
    return signReceipt(receipt, config.hmacKey);
  });

  app.get("/receipts/public-key", read, async () => {
    const k = receiptKeys(config.hmacKey);
    return { alg: "Ed25519", keyId: k.keyId, publicKeyPem: k.publicKeyPem };
  });

  app.post("/holds", holds, async (request, reply) => {
    const body = parseOrProblem(HOLD_BODY_SCHEMA, request.body);
    const ref = subjectRefOf(dataMap, body.subject);
    await assertSubjectKeyFits(dataMap, app.services.pools, body.subject);
    const hold = await placeHold(ds, config.hmacKey, {
      identity: ref.name,
      value: ref.value,
      match: matchOfIdentity(dataMap.subject, ref.name),
      ground: body.ground,
      ...(body.until ? { until: new Date(body.until) } : {}),
      by: request.apiKeyName ?? "unknown",
    });
    reply.code(201).header("location", `/v1/holds/${hold.id}`);
    return hold;
  });

  app.get<{ Params: { id: string } }>("/holds/:id", read, async (request) => {
    const hold = await getHold(ds, request.params.id);
    if (!hold) throw notFound("no hold has this id");
    return hold;
  });

  app.delete<{ Params: { id: string } }>("/holds/:id", holds, async (request) => {
    const resumed = await releaseHold(ds, request.params.id, request.apiKeyName ?? "unknown");
    if (resumed === null) throw notFound("no hold has this id");
    for (const id of resumed) await enqueueRequest(queues.erasure, config, id, { replaceFinished: true });
    return { ...(await getHold(ds, request.params.id)), resumedRequests: resumed.length };
  });
};
