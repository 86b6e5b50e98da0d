import type { FlowJob, JobsOptions, Queue, RepeatOptions } from "bullmq";
import type { z } from "zod";
import type { Config } from "../config";
import { ERROR_CODES, PermanentError } from "../errors";
import type { QueueName } from "./names";

/**
 * A job is one module: `src/queues/jobs/<name>.ts` defines it with {@link defineJob} (name,
 * queue, payload schema, default options, deterministic id, typed enqueue) where the library can
 * import it; `jobs/<name>.ts` holds its processor; `jobs/index.ts` is the table the worker
 * dispatches from.
 */

/** What {@link defineJob} is given. */
export interface JobSpec<P> {
  /** The job's name, also its files' name (`jobs/<name>.ts`). */
  name: string;
  /** The queue it runs on. */
  queue: QueueName;
  /** Its payload: ids only, never an identity. Validated when enqueued and again by the worker. */
  payload: z.ZodType<P>;
  /** Default options (attempts, backoff, retention of finished jobs). */
  options: (config: Config) => JobsOptions;
  /** The deterministic job id of a payload (BullMQ refuses `:`). Absent for jobs only a scheduler adds. */
  jobId?: (payload: P) => string;
}

/** A defined job: its spec plus typed, validating ways to add it. */
export interface JobDefinition<P> extends Readonly<JobSpec<P>> {
  /** The payload of a received job; a payload that does not match is never retried ({@link PermanentError}). */
  parse(data: unknown): P;
  /** Adds the job to `queue` (its own queue) with its options and id; `extra` overrides options. */
  enqueue(queue: Queue, config: Config, payload: P, extra?: JobsOptions): Promise<void>;
  /** The job as a node of a BullMQ flow (`children` for a parent). */
  flowJob(config: Config, payload: P, extra?: JobsOptions, children?: FlowJob[]): FlowJob;
  /** Upserts a job scheduler `schedulerId` on `queue` that adds this job with `payload` on `repeat`. */
  schedule(queue: Queue, schedulerId: string, repeat: Omit<RepeatOptions, "key">, config: Config, payload: P): Promise<void>;
}

/** Retried with exponential backoff, kept an hour once done and a week once failed: the options of most jobs. */
export function retriedJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: "exponential", delay: config.backoffMs },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Defines a job (see the module comment). */
export function defineJob<P>(spec: JobSpec<P>): JobDefinition<P> {
  const checked = (payload: P): P => {
    const parsed = spec.payload.safeParse(payload);
    if (!parsed.success) throw new Error(`${spec.name}: payload does not match its schema`);
    return parsed.data;
  };
  const idOf = (payload: P): { jobId?: string } => {
    if (!spec.jobId) return {};
    const jobId = spec.jobId(payload);
    if (jobId.includes(":")) throw new Error(`${spec.name}: a job id must not contain ":"`);
    return { jobId };
  };
  return {
    ...spec,
    parse(data) {
      const parsed = spec.payload.safeParse(data);
      if (!parsed.success) throw new PermanentError(ERROR_CODES.badPayload, `${spec.name}: payload does not match its schema`);
      return parsed.data;
    },
    async enqueue(queue, config, payload, extra = {}) {
      if (queue.name !== spec.queue) throw new Error(`${spec.name} runs on queue "${spec.queue}", not "${queue.name}"`);
      const data = checked(payload);
      await queue.add(spec.name, data, { ...spec.options(config), ...idOf(data), ...extra });
    },
    flowJob(config, payload, extra = {}, children) {
      const data = checked(payload);
      return { name: spec.name, queueName: spec.queue, data, opts: { ...spec.options(config), ...idOf(data), ...extra }, ...(children ? { children } : {}) };
    },
    async schedule(queue, schedulerId, repeat, config, payload) {
      if (queue.name !== spec.queue) throw new Error(`${spec.name} runs on queue "${spec.queue}", not "${queue.name}"`);
      await queue.upsertJobScheduler(schedulerId, repeat, { name: spec.name, data: checked(payload), opts: spec.options(config) });
    },
  };
}

/** Scheduled housekeeping jobs: not kept once done, the last hundred failures kept. */
export function scheduledJobOptions(): JobsOptions {
  return { removeOnComplete: true, removeOnFail: 100 };
}
