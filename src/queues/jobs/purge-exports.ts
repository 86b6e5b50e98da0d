import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** `purge-exports`: deletes the files of expired (and failed) exports. Added by a job scheduler on the maintenance queue; no payload. */
export const PURGE_EXPORTS = defineJob({
  name: "purge-exports",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
