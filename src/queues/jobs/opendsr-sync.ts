import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/**
 * `opendsr-sync`: finds OpenDSR requests whose status changed since their callbacks were last
 * enqueued (Postgres is the source of truth) and enqueues one `opendsr-callback` per callback URL.
 * Added by a job scheduler on the maintenance queue when OpenDSR is configured; no payload.
 */
export const OPENDSR_SYNC = defineJob({
  name: "opendsr-sync",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
