import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of an export request's build job. */
export function exportJobId(requestId: string): string {
  return `export-${requestId}`;
}

/** `build-export`: builds one export request's zip, then enqueues its mail. Payload: the request id only. */
export const BUILD_EXPORT = defineJob({
  name: "build-export",
  queue: QUEUES.export,
  payload: z.object({ requestId: z.uuid() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => exportJobId(p.requestId),
});
