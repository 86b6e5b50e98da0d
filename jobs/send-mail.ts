import { requestOfExport } from "../src/db/tables/export";
import { failExportRequest } from "../src/exports/fail-export";
import { sendExportMail } from "../src/exports/send-export-mail";
import { SEND_MAIL } from "../src/queues/jobs/send-mail";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/**
 * Processes one attempt. SMTP 5xx fails at once (no retry); 4xx and network errors retry with
 * backoff. When the job ends in failure the request fails visibly with the SMTP code, not the address.
 */
export const sendMail = processorOf(SEND_MAIL, async (payload, job, { services, logger }) => {
  const log = logger.child({ kind: payload.kind });
  try {
    return await sendExportMail(services, payload.exportId, log);
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, exportId: payload.exportId, last }, last ? "mail failed" : "mail attempt failed; will retry");
    if (last) {
      const requestId = await requestOfExport(services.ds, payload.exportId);
      if (requestId) await failExportRequest(services.ds, services.config.exportDir, requestId, err);
    }
    throw err;
  }
});
