import type { FastifyPluginAsync } from "fastify";
import { applyOpenDsrAnswer, openDsrCallBySubjectRequestId } from "../../db/tables/opendsr-call";
import { DOMAIN_HEADER, LEGACY_DOMAIN_HEADER, LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER } from "../../opendsr/protocol";
import { openDsrCallbackUrl, statusOf } from "../../stores/opendsr/adapter";
import { OpenDsrClient } from "../../stores/opendsr/client";
import { openDsrStoreOf, processorDomainOf } from "../../stores/opendsr/schema";
import { storeJobId } from "../../queues/jobs/erase-store";
import { HttpProblem, invalidRequest, notFound, PROBLEM_TYPES } from "../problem";

function forbidden(detail: string): HttpProblem {
  return new HttpProblem({ type: PROBLEM_TYPES.forbidden, title: "Forbidden", status: 403, detail });
}

function header(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * `POST /v1/opendsr/callbacks`: an OpenDSR processor (an `opendsr` store) reports a status change
 * of a request Lethe sent it (§8.6–8.8). Authenticated by the signature, not by an API key: the
 * domain header picks the stores of that processor, the signature is checked on the raw body
 * against each one's trusted certificate before anything parses it (403 otherwise), then
 * `status_callback_url` must be this endpoint and `subject_request_id` a request sent to that
 * store. Register with `{ prefix: "/v1" }`; the raw-body parser stays inside this plugin.
 */
export const openDsrCallbackRoutes: FastifyPluginAsync = async (app) => {
  const { ds, dataMap, config, queues } = app.services;
  const clients = new Map<string, OpenDsrClient>();
  const clientOf = (store: string): OpenDsrClient => {
    let c = clients.get(store);
    if (!c) {
      c = new OpenDsrClient(() => openDsrStoreOf(dataMap, store)!);
      clients.set(store, c);
    }
    return c;
  };

  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.post("/opendsr/callbacks", async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const domain = (header(request.headers[DOMAIN_HEADER]) ?? header(request.headers[LEGACY_DOMAIN_HEADER]))?.trim().toLowerCase();
    const signature = header(request.headers[SIGNATURE_HEADER]) ?? header(request.headers[LEGACY_SIGNATURE_HEADER]);
    if (!domain || !signature) throw forbidden("sign the callback: send X-OpenDSR-Processor-Domain and X-OpenDSR-Signature");
    const stores = Object.keys(dataMap.stores).filter((name) => {
      const spec = openDsrStoreOf(dataMap, name);
      return spec !== null && processorDomainOf(spec).toLowerCase() === domain;
    });
    let verifiedStore: string | null = null;
    for (const store of stores) {
      try {
        if ((await clientOf(store).verify(domain, signature, raw)) === null) {
          verifiedStore = store;
          break;
        }
      } catch (err) {
        request.log.warn({ store, err }, "OpenDSR processor certificate unavailable");
      }
    }
    if (!verifiedStore) throw forbidden("the signature does not verify against a trusted certificate of a processor with this domain");

    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      throw invalidRequest([{ field: "body", message: "must be a JSON object (OpenDSR callback)" }]);
    }
    const id = (json as { subject_request_id?: unknown } | null)?.subject_request_id;
    const status = typeof id === "string" ? statusOf(JSON.stringify(json), id) : null;
    if (!status) throw invalidRequest([{ field: "body", message: "must be an OpenDSR status callback (subject_request_id, request_status, …)" }]);
    if (status.status_callback_url !== openDsrCallbackUrl(config.publicUrl)) {
      throw invalidRequest([{ field: "status_callback_url", message: "must be this endpoint's URL, as sent in the request" }]);
    }
    const call = await openDsrCallBySubjectRequestId(ds, status.subject_request_id);
    if (!call || call.store !== verifiedStore) throw notFound("no request sent to this processor has this subject_request_id");

    const after = await applyOpenDsrAnswer(
      ds,
      { requestId: call.requestId, store: call.store },
      {
        status: status.request_status,
        expectedAt: new Date(status.expected_completion_time),
        controllerId: status.controller_id,
        answer: { raw: raw.toString("utf8") },
        signature: signature.replace(/\s+/g, ""),
      },
    );
    request.log.info({ requestId: call.requestId, store: call.store, status: after?.status ?? null }, "OpenDSR callback recorded");
    try {
      const job = await queues.erasure.getJob(storeJobId(call.requestId, call.store));
      if (job && (await job.isDelayed())) await job.promote();
    } catch (err) {
      request.log.debug({ err }, "could not promote the waiting store job");
    }
    return reply.code(204).send();
  });
};
