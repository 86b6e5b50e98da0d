import { publicError, isPermanentSqlState } from "../src/erasure/public-error";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { failExportRequest } from "../src/exports/fail-export";
import { runBuildExport } from "../src/exports/run-export";
import { BUILD_EXPORT } from "../src/queues/jobs/build-export";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/**
 * Processes one attempt. A bad payload or a permanent failure (a data exception in the subject
 * reference, a store that cannot be exported) fails at once; any failure on the last attempt
 * fails the request visibly and deletes what was written.
 */
export const buildExport = processorOf(BUILD_EXPORT, async ({ requestId }, job, { services, logger: log, signal }) => {
  try {
    try {
      return await runBuildExport(services, requestId, log, signal);
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
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest))
      await failExportRequest(services.ds, services.config.exportDir, requestId, err);
    throw err;
  }
});
