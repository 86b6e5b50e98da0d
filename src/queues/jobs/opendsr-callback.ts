import { z } from "zod";
import { REQUEST_STATUSES, UUID_V4 } from "../../opendsr/protocol";
import { defineJob } from "../define-job";
import { QUEUES } from "../names";

/**
 * `opendsr-callback`: one signed status callback (OpenDSR §8.5–8.6) to one of a request's
 * `status_callback_urls`, for one status. Retried with exponential backoff until delivered or the
 * request's expected completion time has passed. One job per request, status and URL.
 */
export const OPENDSR_CALLBACK = defineJob({
  name: "opendsr-callback",
  queue: QUEUES.maintenance,
  payload: z
    .object({
      subjectRequestId: z.string().regex(UUID_V4),
      status: z.enum(REQUEST_STATUSES),
      /** Index into the request's `status_callback_urls` (the URL itself stays in Postgres). */
      url: z.number().int().min(0).max(9),
    })
    .strict(),
  options: (config) => ({
    attempts: 40,
    backoff: { type: "exponential", delay: config.backoffMs },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 31 * 24 * 3600 },
  }),
  jobId: (p) => `opendsr-cb-${p.subjectRequestId}-${p.status}-${p.url}`,
});
