import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/**
 * `sync-notices`: makes the mail queue agree with an incident's notification rows — a running
 * fan-out gets a `send-notice` job for every pending row (in chunks, `addBulk`, deterministic ids,
 * so nothing is added twice); a paused one has its waiting jobs removed. Payload: the incident id
 * and a generation (the incident's `updated_at` in ms) so each state change gets its own job.
 */
export const SYNC_NOTICES = defineJob({
  name: "sync-notices",
  queue: QUEUES.breach,
  payload: z.object({ incidentId: z.uuid(), generation: z.number().int().min(0) }).strict(),
  options: (config) => ({ ...retriedJobOptions(config), removeOnComplete: true }),
  jobId: (p) => `sync-notices-${p.incidentId}-${p.generation}`,
});
