import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** `reconcile`: makes Redis agree with Postgres, the source of truth. Added by a job scheduler on the maintenance queue; no payload. */
export const RECONCILE = defineJob({
  name: "reconcile",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
