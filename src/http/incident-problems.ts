import type { FastifyInstance } from "fastify";
import { BreachInputError } from "../breach/input-error";
import { NoticeTemplateError } from "../breach/notice-templates";
import { StatusTransitionError } from "../breach/status";
import { IncidentConflictError, IncidentNotFoundError } from "../incidents/errors";
import { HttpProblem, invalidRequest, notFound } from "./problem";

/** Problem type of an action the incident's state does not allow (a 409). */
export const INCIDENT_CONFLICT_PROBLEM = "urn:lethe:problem:incident-conflict";

/** The problem for an error of the breach register, or null for anything else. */
export function incidentProblem(err: unknown): HttpProblem | null {
  if (err instanceof BreachInputError) return invalidRequest([...err.errors]);
  if (err instanceof NoticeTemplateError)
    return invalidRequest([{ field: `templates.${err.locale}${err.block ? `.${err.block}` : ""}`, message: err.message }]);
  if (err instanceof IncidentNotFoundError) return notFound(err.message);
  if (err instanceof StatusTransitionError) {
    return new HttpProblem({ type: INCIDENT_CONFLICT_PROBLEM, title: "Not allowed now", status: 409, detail: err.message, from: err.from, to: err.to });
  }
  if (err instanceof IncidentConflictError)
    return new HttpProblem({ type: INCIDENT_CONFLICT_PROBLEM, title: "Not allowed now", status: 409, detail: err.message });
  return null;
}

/**
 * Maps the register's errors to problems inside a plugin (encapsulated): bad input 400, unknown
 * incident 404, a state that forbids the action 409. Everything else goes on to the API's handler.
 */
export function installIncidentProblems(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown) => {
    throw incidentProblem(err) ?? err;
  });
}
