import { requestOfExport } from "../src/db/tables/export";
import { failExportRequest } from "../src/exports/fail-export";
import { sendExportMail } from "../src/exports/send-export-mail";
import { SEND_MAIL } from "../src/queues/jobs/send-mail";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { afterNotice } from "../src/rights/notice-ended";
import { failNotice, sendRightsNotice } from "../src/rights/notices";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/**
 * Processes one attempt. SMTP 5xx fails at once (no retry); 4xx and network errors retry with
 * backoff. When the job ends in failure the request fails visibly with the SMTP code, not the
 * address (an export), or the notice is recorded failed (a rights notice).
 */
export const sendMail = processorOf(SEND_MAIL, async (payload, job, { services, logger }) => {
  const log = logger.child({ kind: payload.kind });
  if (payload.kind === "notice") {
    try {
      return await sendRightsNotice(services, payload.noticeId, log, (n) => afterNotice(services, n));
    } catch (err) {
      const last = isLastAttempt(job, err);
      log.warn({ err, noticeId: payload.noticeId, last }, last ? "notice mail failed" : "notice mail attempt failed; will retry");
      if (last) {
        const requestId = await failNotice(services, payload.noticeId, err);
        if (requestId) await afterNotice(services, { requestId, liftedRestriction: null });
      }
      throw err;
    }
  }
  try {
    const sent = await sendExportMail(services, payload.exportId, log);
    if (sent.status === "sent") {
      // The mail completed the export request: the application hears it (once: the job id is per request and event).
      const requestId = await requestOfExport(services.ds, payload.exportId);
      if (requestId) await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.completed");
    }
    return sent;
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, exportId: payload.exportId, last }, last ? "mail failed" : "mail attempt failed; will retry");
    if (last) {
      const requestId = await requestOfExport(services.ds, payload.exportId);
      if (requestId) {
        await failExportRequest(services.ds, services.config.exportDir, requestId, err);
        await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
      }
    }
    throw err;
  }
});
