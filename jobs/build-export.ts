import { publicError, isPermanentSqlState } from "../src/erasure/public-error";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { failExportRequest } from "../src/exports/fail-export";
import { runBuildExport } from "../src/exports/run-export";
import { BUILD_EXPORT } from "../src/queues/jobs/build-export";
import { enqueueNotifyApp } from "../src/queues/jobs/notify-app";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/**
 * Processes one attempt. A bad payload or a permanent failure (a data exception in the subject
 * reference, a store that cannot be exported) fails at once; any failure on the last attempt
 * fails the request visibly and deletes what was written. The application is called back when
 * the request ends here (subject not found, or failed).
 */
export const buildExport = processorOf(BUILD_EXPORT, async ({ requestId }, job, { services, logger: log, signal }) => {
  try {
    try {
      const outcome = await runBuildExport(services, requestId, log, signal);
      // A subject not found ends the request here (no mail): the application hears it now.
      if (outcome.status === "completed") await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.completed");
      return outcome;
    } catch (err) {
      if (isPermanentSqlState(err)) {
        const e = publicError(err, services.dataMap.subject.store);
        throw new PermanentError(e.code, e.message);
      }
      throw err;
    }
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "export failed" : "export attempt failed; will retry");
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest)) {
      await failExportRequest(services.ds, services.config.exportDir, requestId, err);
      await enqueueNotifyApp(services.queues.maintenance, services.config, requestId, "request.failed").catch(() => undefined);
    }
    throw err;
  }
});
