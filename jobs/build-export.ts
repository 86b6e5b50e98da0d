import type { Job } from "bullmq";
import { z } from "zod";
import { publicError, isPermanentSqlState } from "../src/erasure/public-error";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { BUILD_EXPORT_JOB } from "../src/exports/enqueue";
import { failExportRequest } from "../src/exports/fail-export";
import { runBuildExport, type BuildOutcome } from "../src/exports/run-export";
import type { ExportRuntime } from "../src/exports/runtime";
import type { Logger } from "../src/logger";
import { parsePayload } from "../src/queues/payload";
import { isLastAttempt } from "./job-failure";

/** Job name: builds one export request's zip, then enqueues its mail (queue `export`). */
export const NAME = BUILD_EXPORT_JOB;

/** Payload: the request id only, never an identity. */
export const PAYLOAD = z.object({ requestId: z.uuid() }).strict();
/** The payload type. */
export type BuildExportPayload = z.infer<typeof PAYLOAD>;

/**
 * Processes one attempt. A bad payload or a permanent failure (a data exception in the subject
 * reference, a store that cannot be exported) fails at once; any failure on the last attempt
 * fails the request visibly and deletes what was written.
 */
export async function processBuildExport(rt: ExportRuntime, job: Job, logger: Logger, signal?: AbortSignal): Promise<BuildOutcome> {
  const { requestId } = parsePayload(PAYLOAD, job.data, NAME);
  const log = logger.child({ jobId: job.id, job: NAME, attempt: job.attemptsMade + 1 });
  try {
    try {
      return await runBuildExport(rt, requestId, log, signal);
    } catch (err) {
      if (isPermanentSqlState(err)) {
        const e = publicError(err, rt.dataMap.subject.store);
        throw new PermanentError(e.code, e.message);
      }
      throw err;
    }
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, requestId, last }, last ? "export failed" : "export attempt failed; will retry");
    if (last && !(err instanceof PermanentError && err.code === ERROR_CODES.unknownRequest))
      await failExportRequest(rt.ds, rt.config.exportDir, requestId, err);
    throw err;
  }
}
