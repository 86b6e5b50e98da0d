/** The job registry: every job Lethe runs. A job's name is its file's name. */
export * as eraseRequest from "./erase-request";
export * as reconcile from "./reconcile";
export * as sealAudit from "./seal-audit";
