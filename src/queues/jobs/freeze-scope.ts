import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of a scope's freeze. */
export function freezeJobId(scopeId: string): string {
  return `freeze-scope-${scopeId}`;
}

/**
 * `freeze-scope`: resolves a counted breach scope again, in one snapshot, and stores its people
 * (keyed hashes, sealed contacts) as the incident's affected set. Payload: the scope id only.
 */
export const FREEZE_SCOPE = defineJob({
  name: "freeze-scope",
  queue: QUEUES.breach,
  payload: z.object({ scopeId: z.uuid() }).strict(),
  options: retriedJobOptions,
  jobId: (p) => freezeJobId(p.scopeId),
});
