import { z } from "zod";
import { defineJob, scheduledJobOptions } from "../define-job";
import { QUEUES } from "../names";

/**
 * `audit-leftovers`: the scheduled leftover audit (`audit/leftover-audit`) — every mapped store
 * scanned for erased subjects' identities by keyed hash. Added by a job scheduler on the
 * maintenance queue (`LETHE_LEFTOVER_AUDIT_CRON`); no payload.
 */
export const AUDIT_LEFTOVERS = defineJob({
  name: "audit-leftovers",
  queue: QUEUES.maintenance,
  payload: z.object({}).strict(),
  options: scheduledJobOptions,
});
