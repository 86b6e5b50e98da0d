import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/**
 * `breach-tick`: the breach register's clock — logs and records each 72-hour mark once, finishes
 * fan-outs whose notices are all out, advises a public notice past the undeliverable threshold and
 * wipes the contacts of closed incidents. Added by a job scheduler on the maintenance queue; no payload.
 */
export const BREACH_TICK = defineJob({
  name: "breach-tick",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
