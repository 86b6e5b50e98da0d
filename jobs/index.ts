/** The job registry: every job Lethe runs, by queue. A job's name is its file's name. */
export * as eraseRequest from "./erase-request";
export * as reconcile from "./reconcile";
