/**
 * Errors of the incident register the API answers with a 4xx (alongside the core's
 * `BreachInputError` → 400, `StatusTransitionError` → 409 and `NoticeTemplateError` → 400).
 * Messages name incidents, versions and states, never personal data.
 */

/** No incident (or scope, report or notice version of it) has this id: a 404. */
export class IncidentNotFoundError extends Error {
  override readonly name = "IncidentNotFoundError";
}

/** The incident's state does not allow the action (final, no decision, fan-out paused…): a 409. */
export class IncidentConflictError extends Error {
  override readonly name = "IncidentConflictError";
}
