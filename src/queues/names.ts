/** Queue names. Every job of a queue is defined in `jobs/`. */
export const QUEUES = {
  /** Erasure requests (and their previews). */
  erasure: "erasure",
  /** Housekeeping: the reconciler. */
  maintenance: "maintenance",
  /** Access/portability exports: one `build-export` job per request. */
  export: "export",
  /** Subject mail, one job per message, rate-limited to the SMTP quota. */
  mail: "mail",
  /** Retention sweeps: one `retention-sweep` job per run, scheduled per policy. */
  retention: "retention",
} as const;

/** A queue name of {@link QUEUES}. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Deterministic job id of a request's job (BullMQ refuses `:` in custom ids). */
export function requestJobId(requestId: string): string {
  return `erasure-${requestId}`;
}

/** Deterministic job id of an export request's build job. */
export function exportJobId(requestId: string): string {
  return `export-${requestId}`;
}

/** Deterministic job id of one message: `mail-<kind>-<id>` (e.g. `mail-export-<exportId>`). */
export function mailJobId(kind: string, id: string): string {
  return `mail-${kind}-${id}`;
}

/** Job id of one store's child in a request's erasure flow. */
export function storeJobId(requestId: string, store: string): string {
  return `erasure-${requestId}-${store}`;
}

/** Job id of the finalizing parent of a request's erasure flow. */
export function finalizeJobId(requestId: string): string {
  return `erasure-${requestId}-finalize`;
}
