import { getOpenDsrRequest } from "../src/db/tables/opendsr-request";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { DOMAIN_HEADER, LEGACY_DOMAIN_HEADER, LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER } from "../src/opendsr/protocol";
import { openDsrSigner } from "../src/opendsr/signer";
import { statusBodyOf } from "../src/opendsr/status-body";
import { OPENDSR_CALLBACK } from "../src/queues/jobs/opendsr-callback";
import { processorOf } from "./handler";

/**
 * POSTs the status body (with `status_callback_url`) signed with Lethe's OpenDSR key. 2xx ends
 * it; anything else (an answer or none) is retried until the request's expected completion time,
 * then fails for good. The URL is never logged (a controller may put a token in it).
 */
export const openDsrCallback = processorOf(OPENDSR_CALLBACK, async ({ subjectRequestId, status, url }, job, { services, logger, signal }) => {
  const signer = openDsrSigner(services.config);
  if (!signer) throw new PermanentError(ERROR_CODES.badPayload, "OpenDSR is not configured (LETHE_OPENDSR_KEY_FILE)");
  const row = await getOpenDsrRequest(services.ds, subjectRequestId);
  if (!row) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown OpenDSR request");
  const target = row.callbackUrls[url];
  if (!target) throw new PermanentError(ERROR_CODES.badPayload, "the request has no such callback URL");
  const body = JSON.stringify(statusBodyOf({ ...row, status }, services.config, { statusCallbackUrl: target }));
  const signature = signer.sign(body);
  let answered: number | null = null;
  try {
    const res = await fetch(target, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        [DOMAIN_HEADER]: signer.domain,
        [SIGNATURE_HEADER]: signature,
        [LEGACY_DOMAIN_HEADER]: signer.domain,
        [LEGACY_SIGNATURE_HEADER]: signature,
      },
      body,
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    answered = res.status;
    if (res.ok) {
      logger.info({ subjectRequestId, status, httpStatus: res.status }, "OpenDSR callback delivered");
      return { httpStatus: res.status };
    }
  } catch (err) {
    logger.warn(
      { subjectRequestId, status, attempt: job.attemptsMade + 1, code: (err as { cause?: { code?: string } }).cause?.code ?? null },
      "OpenDSR callback unreachable",
    );
  }
  if (Date.now() >= row.expectedAt.getTime()) {
    throw new PermanentError(
      ERROR_CODES.callbackRejected,
      `OpenDSR callback not delivered by the expected completion time (last answer: ${answered ?? "none"})`,
    );
  }
  throw new Error(`OpenDSR callback not delivered (answer: ${answered ?? "none"}); retrying`);
});
