/**
 * Core types of Lethe.
 *
 * Terminology
 * - subject: the natural person a request is about, identified by the key column of the
 *   subject table (and optionally by identity columns such as email). See `subject/`.
 * - store: one place that holds personal data, of a kind (`stores/<kind>/`): an application
 *   Postgres database, a Redis, a directory of files, or a third-party processor told over
 *   signed HTTP (webhook). Declared in the data map.
 * - data map: the declarative file (`lethe.config.json|ts|js`) that lists the subject, the
 *   stores and what each holds (tables with erase actions and personal fields, key patterns,
 *   paths), retention policies and transparency facts. Validated by one zod schema.
 * - request: one data-subject request (erasure, export, rectification, restriction, objection,
 *   consent withdrawal), a row in Lethe's own database.
 * - step: what one request did (or would do) to one table (key pattern, path, processor) of one
 *   store: action and row count.
 * - sweep: one run of a retention policy over a table, in checkpointed batches.
 * - incident: a personal-data breach with its notifications (issue 12, not built yet).
 */

/** What happens to a table's rows when their subject is erased. */
export type EraseAction = "delete" | "anonymize" | "keep";

/**
 * What a step reports: the erase actions plus `shared` (a referenced row also used by others, left
 * untouched) and `notified` (a processor was told to erase and confirmed it; `rows` counts calls).
 */
export type StepAction = EraseAction | "shared" | "notified";

/**
 * Lifecycle of a request; `held` waits for a legal hold to end, `awaiting_decision` for the
 * controller (a rectification's approval, an objection's decision), `refused` ended under Art. 12(4).
 */
export type RequestStatus = "queued" | "running" | "completed" | "failed" | "held" | "awaiting_decision" | "refused";

/** Request kinds Lethe accepts: erasure and export, and the other rights (`rights/`). */
export type RequestType = "erasure" | "export" | "rectification" | "restriction" | "objection" | "consent-withdrawal";

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
