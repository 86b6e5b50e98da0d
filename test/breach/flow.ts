import type { IncidentView } from "../../src/incidents/incident-view";
import type { ScopeView } from "../../src/incidents/scopes";
import { CONTACT, HIGH_SEVERITY, NOTICE_TEXTS, waitForBody, type BreachHarness } from "./support";

/**
 * The steps before a fan-out, through the API: an incident, a scope over `scope` (default: every
 * customer) frozen, a high-severity assessment, a decision to tell the people, a notice. Returns
 * the incident's id and how many people it affects.
 */
export async function readyToNotify(
  b: BreachHarness,
  scope: Record<string, unknown> = { kind: "rows", store: "app", table: "customers", allRows: true },
): Promise<{ id: string; people: number }> {
  const now = Date.now();
  const incident = await b.ok<IncidentView>("ops", "POST", "/v1/incidents", {
    title: "Customer data exposed",
    description: "Customer records were exposed.",
    kinds: ["confidentiality"],
    detectedAt: new Date(now - 3600_000).toISOString(),
    awareAt: new Date(now - 1800_000).toISOString(),
  });
  const id = incident.id;
  const counted = await b.ok<ScopeView>("ops", "POST", `/v1/incidents/${id}/scopes`, scope, 201);
  await b.ok("ops", "POST", `/v1/incidents/${id}/scopes/${counted.id}/freeze`, {}, 202);
  await waitForBody<ScopeView>(b, `/v1/incidents/${id}/scopes/${counted.id}`, (s) => s.state === "frozen", "the scope to be frozen", 120_000);
  await b.ok("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY, 201);
  await b.ok("dpo", "POST", `/v1/incidents/${id}/decisions`, { notifyAuthority: true, notifySubjects: true, rationale: "high risk to the customers" }, 201);
  await b.ok("ops", "POST", `/v1/incidents/${id}/notices`, { texts: NOTICE_TEXTS, contact: CONTACT }, 201);
  return { id, people: counted.people! };
}
