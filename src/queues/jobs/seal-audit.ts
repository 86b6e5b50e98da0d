import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** `seal-audit`: links newly committed audit rows into the hash chain. Added by a job scheduler on the maintenance queue; no payload. */
export const SEAL_AUDIT = defineJob({
  name: "seal-audit",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
