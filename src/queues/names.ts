/** Queue names. Every job of a queue is defined in `src/queues/jobs/` (its processor in `jobs/`). */
export const QUEUES = {
  /** Erasure requests (and their previews). */
  erasure: "erasure",
  /** Housekeeping: the reconciler, the audit sealer, the export purge, application callbacks. */
  maintenance: "maintenance",
  /** Access/portability exports: one `build-export` job per request. */
  export: "export",
  /** Subject mail, one job per message, rate-limited to the SMTP quota. */
  mail: "mail",
  /** Retention sweeps: one `retention-sweep` job per run, scheduled per policy. */
  retention: "retention",
  /** Breach notification: freezing an incident's scope, feeding its notices to the mail queue. */
  breach: "breach",
  /** The other rights: a rectification's (or a withdrawal's) stores, and one job per recipient event. */
  rights: "rights",
} as const;

/** A queue name of {@link QUEUES}. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
