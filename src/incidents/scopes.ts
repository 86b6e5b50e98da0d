import { BreachInputError } from "../breach/input-error";
import { parseScope, scopeSummary, type Scope } from "../breach/scope";
import { decryptJson, encryptJson } from "../crypto";
import { affectedSetHash, insertAffected } from "../db/tables/incident-affected";
import { setAffectedCounts } from "../db/tables/incident";
import {
  frozenRecords,
  insertScope,
  lockFreezingScope,
  markScopeFailed,
  markScopeFrozen,
  requestFreezeRow,
  scopeById,
  scopesOf,
  type ScopeRow,
} from "../db/tables/incident-scope";
import type { Sql } from "../db/tables/sql";
import { ERROR_CODES } from "../errors";
import type { Logger } from "../logger";
import { FREEZE_SCOPE } from "../queues/jobs/freeze-scope";
import type { Queues, Services } from "../services";
import type { AffectedCounts } from "../stores/affected";
import { subjectHash } from "../subject/hashes";
import { IncidentConflictError, IncidentNotFoundError } from "./errors";
import { assertNotFinal, requireIncident } from "./register";

/**
 * Scopes of an incident: a dry run counts what a scope reaches (people, records, categories,
 * countries) and stores it `draft`, its values sealed on arrival; freezing resolves it again in one
 * snapshot (a `freeze-scope` job) and stores the people — keyed hash of the key, contact sealed —
 * as the incident's affected set, writes the set's hash into the audit chain and sets the
 * incident's approximate numbers for its reports. Several scopes may be frozen; the set is their union.
 */

/** A scope as the API shows it: no values, only the summary and counts. */
export interface ScopeView {
  id: string;
  state: ScopeRow["state"];
  summary: string;
  counts: AffectedCounts | null;
  people: number | null;
  records: number | null;
  affectedSetSha256: string | null;
  createdBy: string;
  createdAt: string;
  frozenAt: string | null;
  error: { code: string; message: string } | null;
}

/** The API view of a scope row. */
export function scopeView(r: ScopeRow): ScopeView {
  return {
    id: r.id,
    state: r.state,
    summary: r.summary,
    counts: r.counts as AffectedCounts | null,
    people: r.people,
    records: r.records === null ? null : Number(r.records),
    affectedSetSha256: r.affected_set_hash,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    frozenAt: r.frozen_at?.toISOString() ?? null,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? "" } : null,
  };
}

/** The store a scope reads: its own, or the subject's for a list of identities. */
function storeOf(services: Pick<Services, "dataMap">, scope: Scope): string {
  return scope.kind === "identities" ? services.dataMap.subject.store : scope.store;
}

/** Counts what a scope reaches (read-only) and stores it as a draft of the incident. */
export async function dryRunScope(
  services: Pick<Services, "ds" | "config" | "dataMap" | "stores">,
  id: string,
  input: unknown,
  by: string,
): Promise<ScopeView> {
  const scope = parseScope(input);
  const row = await requireIncident(services.ds, id);
  assertNotFinal(row, "take a new scope");
  const counts = await services.stores.affected(storeOf(services, scope)).count(scope, { statementTimeoutMs: services.config.breachStatementTimeoutMs });
  const records = Object.values(counts.records).reduce((a, b) => a + b, 0);
  const stored = await insertScope(services.ds, {
    incidentId: row.id,
    summary: scopeSummary(scope),
    sealed: encryptJson(services.config.encryptionKey, scope),
    counts: counts as unknown as Record<string, unknown>,
    people: counts.people,
    records,
    by,
  });
  return scopeView(stored);
}

/** Every scope of the incident. */
export async function listScopes(q: Sql, id: string): Promise<ScopeView[]> {
  const row = await requireIncident(q, id);
  return (await scopesOf(q, row.id)).map(scopeView);
}

/** One scope of the incident, or {@link IncidentNotFoundError}. */
export async function getScopeView(q: Sql, id: string, scopeId: string): Promise<ScopeView> {
  const row = await requireIncident(q, id);
  const scope = (await scopesOf(q, row.id)).find((s) => s.id === scopeId);
  if (!scope) throw new IncidentNotFoundError(`incident ${row.reference} has no scope ${scopeId.slice(0, 64)}`);
  return scopeView(scope);
}

/** Asks for a counted scope to be frozen (`freezing`) and enqueues its job; a frozen one is returned as it is. */
export async function requestFreeze(
  services: Pick<Services, "ds" | "config"> & { queues: Pick<Queues, "breach"> },
  id: string,
  scopeId: string,
  by: string,
): Promise<ScopeView> {
  const row = await requireIncident(services.ds, id);
  assertNotFinal(row, "freeze a scope");
  const current = (await scopesOf(services.ds, row.id)).find((s) => s.id === scopeId);
  if (!current) throw new IncidentNotFoundError(`incident ${row.reference} has no scope ${scopeId.slice(0, 64)}`);
  if (current.state === "frozen") return scopeView(current);
  const moved = current.state === "freezing" ? current : await requestFreezeRow(services.ds, scopeId, by);
  if (!moved) throw new IncidentConflictError(`scope ${scopeId} cannot be frozen from state ${current.state}`);
  await FREEZE_SCOPE.enqueue(services.queues.breach, services.config, { scopeId });
  return scopeView(moved);
}

/** What one freeze did (ids and counts only). */
export type FreezeOutcome =
  { state: "frozen"; scopeId: string; people: number; added: number } | { state: "skipped" | "failed"; scopeId: string; reason: string };

/**
 * The `freeze-scope` job: in one transaction of Lethe's database, resolves the scope again (one
 * read-only snapshot of the store, streamed in batches), adds each person — `HMAC(key)` and the
 * sealed contact — to the affected set, hashes the incident's whole set and marks the scope frozen
 * with that hash in the audit chain. A scope the map or schema now refuses fails visibly.
 */
export async function freezeScope(
  services: Pick<Services, "ds" | "config" | "dataMap" | "stores">,
  scopeId: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<FreezeOutcome> {
  const { ds, config } = services;
  try {
    return await ds.transaction(async (m) => {
      const scopeRow = await lockFreezingScope(m, scopeId);
      if (!scopeRow) return { state: "skipped", scopeId, reason: `scope is ${(await scopeById(m, scopeId))?.state ?? "unknown"}` };
      if (!scopeRow.scope_sealed) throw new BreachInputError("scope", [{ field: "scope", message: "the scope's values were wiped (the incident closed)" }]);
      const scope = parseScope(decryptJson<unknown>(config.encryptionKey, scopeRow.scope_sealed));
      let added = 0;
      const counts = await services.stores.affected(storeOf(services, scope)).collect(
        scope,
        async (people) => {
          const hmacs = people.map((p) => subjectHash(config.hmacKey, "id", p.key));
          const contacts = people.map((p) =>
            p.email === null ? null : encryptJson(config.encryptionKey, { email: p.email, locale: p.locale, country: p.country }),
          );
          added += await insertAffected(m, scopeRow.incident_id, scopeId, hmacs, contacts);
        },
        { statementTimeoutMs: config.breachStatementTimeoutMs, batchSize: 5000, ...(signal ? { signal } : {}) },
      );
      const set = await affectedSetHash(m, scopeRow.incident_id);
      const records = Object.values(counts.records).reduce((a, b) => a + b, 0);
      await markScopeFrozen(m, scopeId, {
        counts: counts as unknown as Record<string, unknown>,
        people: counts.people,
        records,
        added,
        affectedSetHash: set.hash,
        incidentPeople: set.people,
      });
      await setAffectedCounts(m, scopeRow.incident_id, { subjects: set.people, records: await frozenRecords(m, scopeRow.incident_id) });
      log.info({ scopeId, incidentId: scopeRow.incident_id, people: counts.people, added }, "breach scope frozen");
      return { state: "frozen", scopeId, people: counts.people, added };
    });
  } catch (err) {
    if (!(err instanceof BreachInputError)) throw err;
    await markScopeFailed(ds, scopeId, ERROR_CODES.scopeFailed, err.message);
    log.warn({ scopeId, code: ERROR_CODES.scopeFailed }, "breach scope could not be frozen");
    return { state: "failed", scopeId, reason: err.message };
  }
}
