import { requestOfExport } from "../src/db/tables/export";
import { failExportRequest } from "../src/exports/fail-export";
import { sendExportMail } from "../src/exports/send-export-mail";
import { SEND_MAIL } from "../src/queues/jobs/send-mail";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { afterNotice } from "../src/rights/notice-ended";
import { failNotice, sendRightsNotice } from "../src/rights/notices";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";
import { PermanentError } from "../src/errors";
import { isPastMailWindow } from "../src/mail/retry-policy";

/** The error that ends a job whose retry window closed with attempts left: BullMQ does not retry it. */
function final(err: unknown): unknown {
  if (err instanceof PermanentError || (err as Error | undefined)?.name === "UnrecoverableError") return err;
  const code = (err as { code?: unknown } | null)?.code;
  return new PermanentError(typeof code === "string" ? code : "smtp_error", err instanceof Error ? err.message : "sending the message failed", { cause: err });
}

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
      const last = isLastAttempt(job, err) || isPastMailWindow(job.timestamp, services.config.smtpRetryHours);
      log.warn({ err, noticeId: payload.noticeId, last }, last ? "notice mail failed" : "notice mail attempt failed; will retry");
      if (last) {
        const requestId = await failNotice(services, payload.noticeId, err);
        if (requestId) await afterNotice(services, { requestId, liftedRestriction: null });
      }
      throw last ? final(err) : err;
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
    // The retry window (LETHE_SMTP_RETRY_HOURS) counts from the job's first queueing, whatever attempts are left.
    const last = isLastAttempt(job, err) || isPastMailWindow(job.timestamp, services.config.smtpRetryHours);
    log.warn({ err, exportId: payload.exportId, last }, last ? "mail failed" : "mail attempt failed; will retry");
    if (last) {
      const requestId = await requestOfExport(services.ds, payload.exportId);
      if (requestId) {
        await failExportRequest(services.ds, services.config.exportDir, requestId, err);
        await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
      }
    }
    throw last ? final(err) : err;
  }
});
