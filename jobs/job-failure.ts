import type { Job } from "bullmq";
import { PermanentError } from "../src/errors";

/** True when this failure ends the job: a permanent error, or the last attempt. */
export function isLastAttempt(job: Job, err: unknown): boolean {
  return err instanceof PermanentError || (err as Error | undefined)?.name === "UnrecoverableError" || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}
