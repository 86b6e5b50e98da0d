import { z } from "zod";
import { BREACH_KINDS } from "../breach/breach-types";
import { awarenessErrors } from "../breach/clock";
import { BreachInputError, parseBreachInput, requiredText } from "../breach/input-error";
import { FINAL_STATUSES, INCIDENT_STATUSES, transition, type IncidentStatus } from "../breach/status";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { wipeScopeValues } from "../db/tables/incident-scope";
import { getIncidentRow, insertIncident, listIncidentRows, pauseFanoutRow, setIncidentStatus, type IncidentRow } from "../db/tables/incident";
import type { Sql } from "../db/tables/sql";
import type { DataSource } from "typeorm";
import { IncidentConflictError, IncidentNotFoundError } from "./errors";
import { transitionFacts } from "./facts";

/**
 * The register's lifecycle: an incident is created (awareness starts the clock), moves along the
 * core's status machine (`breach/status`) as its decision, reports and notices allow — some moves
 * happen by themselves when their guard holds ({@link advance}), closing is always explicit — and
 * is never deleted. Reaching a final status schedules the wipe of its sealed contacts and wipes
 * the sealed values of its scopes.
 */

const instant = z.iso.datetime({ offset: true });

/** Body of a new incident. */
export const NewIncidentSchema = z
  .object({
    title: requiredText("title", 1, 200),
    description: requiredText("description", 1, 20_000),
    kinds: z
      .array(z.enum(BREACH_KINDS))
      .min(1, "name at least one kind of breach")
      .refine((k) => new Set(k).size === k.length, "each kind once"),
    detectedAt: instant,
    awareAt: instant,
    occurred: z.object({ from: instant, until: instant.nullable() }).strict().optional(),
    /** Stores of the data map the breach concerns. */
    stores: z.array(z.string().min(1).max(100)).max(100).default([]),
    /** Other systems concerned (names, e.g. "backup bucket"). */
    systems: z
      .array(requiredText("system", 1, 200))
      .max(100)
      .default([]),
  })
  .strict();

/** Creates an incident; `now` judges that awareness and detection are not in the future. */
export async function createIncident(deps: { ds: Sql; dataMap: DataMap }, input: unknown, by: string, now: Date): Promise<IncidentRow> {
  const body = parseBreachInput("incident", NewIncidentSchema, input);
  const errors = awarenessErrors({ detectedAt: new Date(body.detectedAt), awareAt: new Date(body.awareAt) }, now);
  body.stores.forEach((s, i) => {
    if (!deps.dataMap.stores[s]) errors.push({ field: `stores.${i}`, message: "is not a store of the data map" });
  });
  if (body.occurred?.until && Date.parse(body.occurred.until) < Date.parse(body.occurred.from)) {
    errors.push({ field: "occurred.until", message: "must not be before occurred.from" });
  }
  if (errors.length > 0) throw new BreachInputError("incident", errors);
  return insertIncident(deps.ds, {
    title: body.title,
    description: body.description,
    kinds: body.kinds,
    detectedAt: new Date(body.detectedAt),
    awareAt: new Date(body.awareAt),
    occurredFrom: body.occurred ? new Date(body.occurred.from) : null,
    occurredUntil: body.occurred?.until ? new Date(body.occurred.until) : null,
    stores: body.stores,
    systems: body.systems,
    createdBy: by,
  });
}

/** The incident, or {@link IncidentNotFoundError}. */
export async function requireIncident(q: Sql, idOrReference: string, forUpdate = false): Promise<IncidentRow> {
  const row = await getIncidentRow(q, idOrReference, forUpdate);
  if (!row) throw new IncidentNotFoundError(`no incident has the id or reference "${idOrReference.slice(0, 64)}"`);
  return row;
}

/** Refuses changes to an incident that reached a final status. */
export function assertNotFinal(row: IncidentRow, action: string): void {
  if (FINAL_STATUSES.has(row.status)) throw new IncidentConflictError(`incident ${row.reference} is ${row.status}; it cannot ${action}`);
}

/** Query of the register's list. */
export const ListQuerySchema = z
  .object({
    status: z
      .string()
      .transform((s) => s.split(","))
      .pipe(z.array(z.enum(INCIDENT_STATUSES)))
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: instant.optional(),
  })
  .strict();

/** Incidents newest first. */
export function listIncidents(q: Sql, query: z.output<typeof ListQuerySchema>): Promise<IncidentRow[]> {
  return listIncidentRows(q, {
    ...(query.status ? { statuses: query.status } : {}),
    limit: query.limit,
    ...(query.before ? { before: new Date(query.before) } : {}),
  });
}

/** The moves {@link advance} tries, in order: none of them closes an incident. */
const AUTOMATIC: Array<[IncidentStatus, IncidentStatus]> = [
  ["open", "assessed"],
  ["assessed", "authority_notified"],
  ["assessed", "subjects_notified"],
  ["authority_notified", "subjects_notified"],
];

/**
 * Moves a locked incident along every automatic transition whose guard holds now (a decision was
 * recorded, the initial report submitted, every notice is out). Run inside the transaction that
 * changed the facts. Returns the row as it ends.
 */
export async function advance(q: Sql, row: IncidentRow, actor: string, config: Pick<Config, "breachContactWipeHours">): Promise<IncidentRow> {
  let current = row;
  for (let moved = true; moved;) {
    moved = false;
    const facts = await transitionFacts(q, current);
    for (const [from, to] of AUTOMATIC) {
      if (current.status !== from) continue;
      try {
        transition(from, to, facts);
      } catch {
        continue;
      }
      const next = await setIncidentStatus(q, current.id, actor, { from, to, final: false, wipeAfterHours: config.breachContactWipeHours });
      if (next) {
        current = next;
        moved = true;
        break;
      }
    }
  }
  return current;
}

/** Body of closing an incident: `closed`, or `not_a_breach` with the rationale. */
export const CloseSchema = z.object({ status: z.enum(["closed", "not_a_breach"]), rationale: z.string().trim().min(1).max(20_000).optional() }).strict();

/**
 * Closes an incident (`closed`) or finds it not a breach (`not_a_breach`, with a rationale), as the
 * status machine allows; stops a fan-out still running, wipes the scopes' sealed values and
 * schedules the contacts' wipe (`LETHE_BREACH_CONTACT_WIPE_HOURS`).
 */
export async function closeIncident(
  ds: DataSource,
  config: Pick<Config, "breachContactWipeHours">,
  id: string,
  input: unknown,
  by: string,
): Promise<IncidentRow> {
  const body = parseBreachInput("close", CloseSchema, input);
  if (body.status === "not_a_breach" && !body.rationale) {
    throw new BreachInputError("close", [{ field: "rationale", message: "say why the incident is not a breach (it stays in the register)" }]);
  }
  return ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    const facts = await transitionFacts(m, row);
    transition(row.status, body.status, { ...facts, rationale: body.rationale ?? null });
    if (row.fanout_state === "running") await pauseFanoutRow(m, row.id, by, `incident ${body.status}`);
    const moved = await setIncidentStatus(m, row.id, by, {
      from: row.status,
      to: body.status,
      rationale: body.rationale ?? null,
      final: true,
      wipeAfterHours: config.breachContactWipeHours,
    });
    if (!moved) throw new IncidentConflictError(`incident ${row.reference} changed meanwhile; try again`);
    await wipeScopeValues(m, row.id);
    return moved;
  });
}
