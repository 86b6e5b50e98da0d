import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Job id of one store's child in a request's erasure flow. */
export function storeJobId(requestId: string, store: string): string {
  return `erasure-${requestId}-${store}`;
}

/**
 * `erase-store`: erases one store of one request (a child of the request's flow). Payload: the
 * request id, the store's data-map name, and how often an unavailable processor was waited for.
 */
export const ERASE_STORE = defineJob({
  name: "erase-store",
  queue: QUEUES.erasure,
  payload: z.object({ requestId: z.uuid(), store: z.string().min(1).max(100), waits: z.number().int().min(0).optional() }).strict(),
  options: (config) => ({ ...retriedJobOptions(config), failParentOnFailure: true }),
  jobId: (p) => storeJobId(p.requestId, p.store),
});
