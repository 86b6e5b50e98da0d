import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { cancelOpenDsrRequest, getOpenDsrRequest } from "../../db/tables/opendsr-request";
import { isTransient } from "../../errors";
import { errorBody, OpenDsrError, unknownRequest, validationError } from "../../opendsr/error-object";
import { discoveryOf, submitOpenDsr } from "../../opendsr/inbound";
import {
  DOMAIN_HEADER,
  LEGACY_DOMAIN_HEADER,
  LEGACY_SIGNATURE_HEADER,
  OPENDSR_API_VERSION,
  REQUEST_BODY_SCHEMA,
  SIGNATURE_HEADER,
  UUID_V4,
  type CancelledBody,
  type CreatedBody,
} from "../../opendsr/protocol";
import { openDsrSigner, type OpenDsrSigner } from "../../opendsr/signer";
import { statusBodyOf } from "../../opendsr/status-body";
import { findApiKey, hasScope, presentedSecret } from "../auth";
import { pathOf, PROBLEM_CONTENT_TYPE } from "../problem";
import { fieldErrorsOf } from "../validation";

/** Sends `body` signed: `X-OpenDSR-Processor-Domain` and `X-OpenDSR-Signature` over the exact bytes sent. */
function sendSigned(reply: FastifyReply, signer: OpenDsrSigner, status: number, body: object): FastifyReply {
  const text = JSON.stringify(body);
  const signature = signer.sign(text);
  return reply
    .code(status)
    .header(DOMAIN_HEADER, signer.domain)
    .header(SIGNATURE_HEADER, signature)
    .header(LEGACY_DOMAIN_HEADER, signer.domain)
    .header(LEGACY_SIGNATURE_HEADER, signature)
    .header("cache-control", "no-store")
    .type("application/json; charset=utf-8")
    .send(text);
}

/** A body carrying `processor_signature` (§7.3, §9.2): the signature of the body without it, then added. */
function withProcessorSignature<T extends object>(signer: OpenDsrSigner, body: T): T & { processor_signature: string } {
  return { ...body, processor_signature: signer.sign(JSON.stringify(body)) };
}

/**
 * Lethe as an OpenDSR 2.0 processor (docs/opendsr.md), under `/opendsr/v2`: `GET discovery`,
 * `POST requests`, `GET requests/:id`, `DELETE requests/:id` and `GET certificate.pem`. Callers
 * authenticate with an API key of scope `opendsr` (its name is the `controller_id`). Every answer
 * is signed; every error is the spec's error object inside an RFC 9457 problem, never a 500 for
 * bad input. Not configured (no LETHE_OPENDSR_KEY_FILE): every route answers 404.
 */
export const openDsrRoutes: FastifyPluginAsync = async (app) => {
  const services = app.services;
  const { ds, config, dataMap } = services;
  const signer = openDsrSigner(config);

  // `encoded_request` is the body as received: keep it raw here, parse it in the route.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  const sendError = (request: FastifyRequest, reply: FastifyReply, e: OpenDsrError): FastifyReply => {
    if (signer) reply.header(DOMAIN_HEADER, signer.domain);
    return reply
      .code(e.status)
      .headers(e.headers)
      .header("cache-control", "no-store")
      .type(PROBLEM_CONTENT_TYPE)
      .send(errorBody(e.status, e.message, e.errors, pathOf(request)));
  };

  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof OpenDsrError) return sendError(request, reply, err);
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      const message =
        status === 413
          ? `the request body exceeds ${config.bodyLimitBytes} bytes`
          : status === 415
            ? "send the body as application/json"
            : "the request cannot be processed";
      return sendError(request, reply, new OpenDsrError(status, message, [{ domain: "Request", reason: "BadRequest", message }]));
    }
    if (isTransient(err)) {
      request.log.warn({ err }, "dependency unavailable");
      const message = "a dependency is temporarily unavailable; retry later";
      return sendError(request, reply, new OpenDsrError(503, message, [{ domain: "Service", reason: "Unavailable", message }], { "retry-after": "5" }));
    }
    request.log.error({ err }, "OpenDSR request failed");
    const message = "the request failed on the server; it has been logged";
    return sendError(request, reply, new OpenDsrError(500, message, [{ domain: "Service", reason: "InternalError", message }]));
  });

  app.addHook("onRequest", async (request, reply) => {
    if (!signer)
      throw new OpenDsrError(404, "OpenDSR is not configured on this deployment", [
        { domain: "Service", reason: "NotConfigured", message: "OpenDSR is not configured" },
      ]);
    const secret = presentedSecret(request.headers.authorization);
    const key = secret === null ? null : findApiKey(config.apiKeys, secret);
    if (!key) {
      const message = secret === null ? "send an API key as `Authorization: Bearer <key>`" : "the API key is not valid";
      reply.header("www-authenticate", 'Bearer realm="lethe"');
      throw new OpenDsrError(401, message, [{ domain: "Authentication", reason: "Unauthorized", message }]);
    }
    if (!hasScope(key, "opendsr")) {
      const message = `the API key "${key.name}" lacks the scope "opendsr"`;
      throw new OpenDsrError(403, message, [{ domain: "Authentication", reason: "Forbidden", message }]);
    }
    request.apiKeyName = key.name;
  });

  const must = (): OpenDsrSigner => signer!;
  const controllerOf = (request: FastifyRequest): string => request.apiKeyName ?? "unknown";
  const idOf = (id: string): string => {
    if (!UUID_V4.test(id)) throw validationError([{ field: "subject_request_id", message: "must be a lowercase UUID v4" }]);
    return id;
  };

  app.get("/discovery", async (_request, reply) => sendSigned(reply, must(), 200, discoveryOf(dataMap, config.publicUrl)));

  app.get("/certificate.pem", async (_request, reply) =>
    reply.type("application/x-pem-file").header("cache-control", "max-age=3600").send(must().certificatePem),
  );

  const create = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      throw validationError([{ field: "body", message: "must be a JSON object (OpenDSR request)" }]);
    }
    const parsed = REQUEST_BODY_SCHEMA.safeParse(json);
    if (!parsed.success) throw validationError(fieldErrorsOf(parsed.error.issues));
    const { row, replayed } = await submitOpenDsr(services, controllerOf(request), parsed.data, raw);
    const created: CreatedBody = {
      controller_id: row.controllerId,
      expected_completion_time: row.expectedAt.toISOString(),
      received_time: row.receivedAt.toISOString(),
      encoded_request: raw.toString("base64"),
      subject_request_id: row.subjectRequestId,
    };
    if (replayed) reply.header("idempotent-replayed", "true");
    return sendSigned(reply, must(), 201, withProcessorSignature(must(), created));
  };

  const status = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const row = await getOpenDsrRequest(ds, idOf(request.params.id));
    if (!row || row.controllerId !== controllerOf(request)) throw unknownRequest();
    return sendSigned(reply, must(), 200, statusBodyOf(row, config));
  };

  const cancel = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const id = idOf(request.params.id);
    const row = await getOpenDsrRequest(ds, id);
    if (!row || row.controllerId !== controllerOf(request)) throw unknownRequest();
    if (!(await cancelOpenDsrRequest(ds, id, row.controllerId))) {
      const message = `only a pending request can be cancelled; this one is ${row.status}`;
      throw new OpenDsrError(400, message, [{ domain: "Request", reason: "NotCancellable", message }]);
    }
    const body: CancelledBody = {
      controller_id: row.controllerId,
      subject_request_id: id,
      received_time: new Date().toISOString(),
      api_version: OPENDSR_API_VERSION,
    };
    return sendSigned(reply, must(), 202, withProcessorSignature(must(), body));
  };

  // §10.1: the OpenGDPR names of the routes are honoured too (same bodies, same answers).
  for (const path of ["/requests", "/opengdpr_requests"]) {
    app.post(path, create);
    app.get<{ Params: { id: string } }>(`${path}/:id`, { config: { ownIdCheck: true } }, status);
    app.delete<{ Params: { id: string } }>(`${path}/:id`, { config: { ownIdCheck: true } }, cancel);
  }
};
