/** The job registry: every job Lethe runs. A job's name is its file's name. */
export * as buildExport from "./build-export";
export * as eraseRequest from "./erase-request";
export * as eraseStore from "./erase-store";
export * as finalizeErasure from "./finalize-erasure";
export * as purgeExports from "./purge-exports";
export * as reconcile from "./reconcile";
export * as retentionSweep from "./retention-sweep";
export * as sealAudit from "./seal-audit";
export * as sendMail from "./send-mail";
