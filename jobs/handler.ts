import type { Job } from "bullmq";
import type { Logger } from "../src/logger";
import type { JobDefinition } from "../src/queues/define-job";
import type { Services } from "../src/services";

/** What a processor gets besides its job: the process's services, a logger, BullMQ's token and abort signal. */
export interface JobContext {
  services: Services;
  /** The process logger; {@link processorOf} hands the processor a child with `jobId`, `job`, `attempt`. */
  logger: Logger;
  /** The job's lock token (to move it to delayed). */
  token?: string;
  /** Aborted when the job is cancelled or the worker closes. */
  signal?: AbortSignal;
}

/** One row of the job table (`jobs/index.ts`): a job's definition and its processor. */
export interface JobHandler {
  readonly definition: Pick<JobDefinition<unknown>, "name" | "queue">;
  process(job: Job, ctx: JobContext): Promise<unknown>;
}

/**
 * Makes a job's processor: the payload is validated with the job's schema (a mismatch fails at
 * once, never retried), and the processor gets a child logger naming the job and the attempt.
 */
export function processorOf<P>(definition: JobDefinition<P>, run: (payload: P, job: Job, ctx: JobContext) => Promise<unknown>): JobHandler {
  return {
    definition,
    async process(job, ctx) {
      const payload = definition.parse(job.data);
      const logger = ctx.logger.child({ jobId: job.id, job: definition.name, attempt: job.attemptsMade + 1 });
      return run(payload, job, { ...ctx, logger });
    },
  };
}
