/** Queue names. Every job of a queue is defined in `jobs/`. */
export const QUEUES = {
  /** Erasure requests (and their previews). */
  erasure: "erasure",
  /** Housekeeping: the reconciler. */
  maintenance: "maintenance",
} as const;

/** A queue name of {@link QUEUES}. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Deterministic job id of a request's job (BullMQ refuses `:` in custom ids). */
export function requestJobId(requestId: string): string {
  return `erasure-${requestId}`;
}
