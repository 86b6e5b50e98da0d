/**
 * Core types of Lethe.
 *
 * Terminology
 * - subject: the natural person a request is about, identified by the key column of the
 *   subject table (and optionally by identity columns such as email).
 * - store: one place that holds personal data (a Postgres database, later Redis, files,
 *   a third-party processor), declared in the data map.
 * - data map: the declarative file (`lethe.config.json|ts|js`) that lists the stores, their
 *   tables, erase actions and personal fields. Validated by one zod schema.
 * - request: one data-subject request (erasure, later export), a row in Lethe's own database.
 * - step: what one request did (or would do) to one table of one store: action and row count.
 * - sweep: one run of a retention policy over a table (see the retention issue).
 * - incident: a personal-data breach with its notifications (see the breach issue).
 */

/** What happens to a table's rows when their subject is erased. */
export type EraseAction = "delete" | "anonymize" | "keep";

/**
 * What a step reports: the erase actions plus `shared` (a referenced row also used by others, left
 * untouched) and `notified` (a processor was told to erase and confirmed it; `rows` counts calls).
 */
export type StepAction = EraseAction | "shared" | "notified";

/** Lifecycle of a request; `held` waits for a legal hold to end. */
export type RequestStatus = "queued" | "running" | "completed" | "failed" | "held";

/** Request kinds Lethe accepts. */
export type RequestType = "erasure" | "export";

/** How a request names its subject: by key (`id`) or by one identity column (e.g. `email`). */
export type SubjectRef = { id: string } | { [identity: string]: string };

/** Identities of a subject, snapshotted (encrypted) before anything is destroyed. */
export interface SubjectIdentities {
  /** The subject table's key value, as text. */
  id: string;
  /** Identity columns by their data-map name (e.g. `email`). */
  [identity: string]: string;
}

/** One table's counts in a plan or a receipt. No personal values, ever. */
export interface StepCount {
  /** Data-map name of the store. */
  store: string;
  /** Table name as declared in the data map. */
  table: string;
  /** What was (or would be) done to these rows. */
  action: StepAction;
  /** Number of rows. */
  rows: number;
  /** Legal ground, for `keep`. */
  ground?: string;
}
