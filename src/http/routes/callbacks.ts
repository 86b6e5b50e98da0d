import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { CALLBACK_TOKEN, callbackTokenHash } from "../../stores/webhook/callback-token";
import { ERROR_CODES } from "../../errors";
import { endCallByToken, getCallByTokenHash } from "../../db/tables/processor-call";
import { webhookStoreOf } from "../../stores/webhook/schema";
import { safeReason } from "../../stores/webhook/webhook-adapter";
import { DEFAULT_TOLERANCE_SEC } from "../../webhook/protocol";
import { verifyLetheSignature } from "../../webhook/verify-signature";
import { HttpProblem, invalidRequest, notFound, PROBLEM_TYPES } from "../problem";
import { parseOrProblem } from "../validation";
import { storeJobId } from "../../queues/jobs/erase-store";

/** Problem type of a callback whose token was already used (the call is no longer open). */
export const CALLBACK_USED_PROBLEM = "urn:lethe:problem:callback-already-used";

/** Body of `POST /v1/callbacks/:token`. `reason` is recorded only when it is a short code. */
export const CALLBACK_BODY_SCHEMA = z
  .object(
    {
      status: z.enum(["done", "failed"], { error: 'must be "done" or "failed"' }),
      reason: z.string({ error: "must be a string" }).max(1000, "must be at most 1000 characters").optional(),
    },
    { error: 'send a JSON object such as {"status": "done"}' },
  )
  .strict();

function unauthorized(detail: string): HttpProblem {
  return new HttpProblem({ type: PROBLEM_TYPES.unauthorized, title: "Unauthorized", status: 401, detail });
}

function header(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * `POST /v1/callbacks/:token`: a processor reports the outcome of an accepted (202) erase call.
 * Authenticated by the token (single use) and the signature with the store's secret, not by an
 * API key. Register with `{ prefix: "/v1" }`; the raw-body JSON parser stays inside this plugin.
 */
export const callbackRoutes: FastifyPluginAsync = async (app) => {
  const { ds, dataMap, queues } = app.services;
  // The signature covers the body byte for byte: keep it raw here, parse after verifying.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.post<{ Params: { token: string } }>("/callbacks/:token", async (request, reply) => {
    const { token } = request.params;
    const tokenHash = CALLBACK_TOKEN.test(token) ? callbackTokenHash(token) : null;
    const call = tokenHash ? await getCallByTokenHash(ds, tokenHash) : null;
    const spec = call ? webhookStoreOf(dataMap, call.store) : null;
    if (!tokenHash || !call || !spec) throw notFound("no processor call has this callback token; use the callbackUrl Lethe sent");

    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const timestamp = header(request.headers["lethe-timestamp"]);
    const signature = header(request.headers["lethe-signature"]);
    if (!timestamp || !signature)
      throw unauthorized('sign the callback: send Lethe-Timestamp and Lethe-Signature (v1=<hex HMAC-SHA256 of "<timestamp>.<body>">)');
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > DEFAULT_TOLERANCE_SEC) {
      throw unauthorized(`Lethe-Timestamp must be the current time in unix seconds (within ${DEFAULT_TOLERANCE_SEC} s)`);
    }
    if (!verifyLetheSignature({ secret: spec.secret, timestamp, signature, rawBody: raw })) {
      throw unauthorized("Lethe-Signature does not match the body, the timestamp and the store's secret");
    }

    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      throw invalidRequest([{ field: "body", message: "must be a JSON object" }]);
    }
    const body = parseOrProblem(CALLBACK_BODY_SCHEMA, json);

    const ended = await endCallByToken(
      ds,
      tokenHash,
      body.status === "done" ? { status: "done" } : { status: "failed", errorCode: ERROR_CODES.processorFailed, failureReason: safeReason(body.reason) },
    );
    if (!ended) {
      throw new HttpProblem({
        type: CALLBACK_USED_PROBLEM,
        title: "Callback already used",
        status: 409,
        detail: "this call no longer waits for a callback: a callback token works once",
      });
    }
    request.log.info({ requestId: ended.requestId, store: ended.store, status: ended.status }, "processor callback recorded");

    // Wake the store's job now; it also re-checks on its own schedule, so failures here are harmless.
    try {
      const job = await queues.erasure.getJob(storeJobId(ended.requestId, ended.store));
      if (job && (await job.isDelayed())) await job.promote();
    } catch (err) {
      request.log.debug({ err }, "could not promote the waiting store job");
    }
    return reply.code(204).send();
  });
};
