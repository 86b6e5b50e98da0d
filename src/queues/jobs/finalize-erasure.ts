import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Job id of the finalizing parent of a request's erasure flow. */
export function finalizeJobId(requestId: string): string {
  return `erasure-${requestId}-finalize`;
}

/** `finalize-erasure`: the parent of a request's flow — verifies every store, then completes the request. Payload: the request id. */
export const FINALIZE_ERASURE = defineJob({
  name: "finalize-erasure",
  queue: QUEUES.erasure,
  payload: z.object({ requestId: z.uuid() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => finalizeJobId(p.requestId),
});
