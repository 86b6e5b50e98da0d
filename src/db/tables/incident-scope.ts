import { appendAuditSql } from "./audit-log";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_scope`: each description of breached rows (or uploaded list) an
 * incident was scoped with. Its values (conditions, keys, identities) are sealed on arrival; the
 * row keeps a loggable summary and the counts of its dry run, then, once frozen, the counts of the
 * frozen set and the hash of the incident's affected set. Sealed values are wiped at close.
 */

/** Where a scope stands: counted (draft), being frozen by a job, frozen, or failed. */
export type ScopeState = "draft" | "freezing" | "frozen" | "failed";

/** A scope row (`scope_sealed` holds the scope with its values, AES-256-GCM). */
export interface ScopeRow {
  id: string;
  incident_id: string;
  state: ScopeState;
  summary: string;
  scope_sealed: Buffer | null;
  counts: Record<string, unknown> | null;
  people: number | null;
  records: string | null;
  affected_set_hash: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  frozen_at: Date | null;
  error_code: string | null;
  error_message: string | null;
}

const scopeAudit = (event: string, actor: string, extra: string, from: string): string =>
  appendAuditSql(
    {
      event: `'${event}'`,
      actor,
      detail: `jsonb_build_object('incidentId', incident_id, 'reference', reference, 'scopeId', id, 'summary', summary) || ${extra}`,
    },
    from,
  );

/** Stores a counted scope (`draft`) with its `incident.scope_counted` audit entry (counts only). */
export async function insertScope(
  q: Sql,
  s: { incidentId: string; summary: string; sealed: Buffer; counts: Record<string, unknown>; people: number; records: number; by: string },
): Promise<ScopeRow> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_scope (incident_id, state, summary, scope_sealed, counts, people, records, created_by)
       VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7) RETURNING *),
     i AS (SELECT ins.*, inc.reference FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${scopeAudit("incident.scope_counted", "created_by", "jsonb_build_object('people', people, 'records', records)", "i")})
     SELECT * FROM ins`,
    [s.incidentId, s.summary, s.sealed, JSON.stringify(s.counts), s.people, s.records, s.by],
  )) as ScopeRow[];
  return rows[0]!;
}

/** One scope of an incident, or null. */
export async function getScope(q: Sql, incidentId: string, scopeId: string): Promise<ScopeRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(scopeId)) return null;
  const rows = (await q.query(`SELECT * FROM lethe.incident_scope WHERE id = $1 AND incident_id = $2`, [scopeId, incidentId])) as ScopeRow[];
  return rows[0] ?? null;
}

/** A scope by id alone (the freeze job), or null. */
export async function scopeById(q: Sql, scopeId: string): Promise<ScopeRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_scope WHERE id = $1`, [scopeId])) as ScopeRow[];
  return rows[0] ?? null;
}

/** Every scope of an incident, oldest first. */
export async function scopesOf(q: Sql, incidentId: string): Promise<ScopeRow[]> {
  return (await q.query(`SELECT * FROM lethe.incident_scope WHERE incident_id = $1 ORDER BY created_at, id`, [incidentId])) as ScopeRow[];
}

/** Asks for a draft (or failed) scope to be frozen: `freezing`, audited. Null when it was not draft or failed. */
export async function requestFreezeRow(q: Sql, scopeId: string, by: string): Promise<ScopeRow | null> {
  const rows = (await q.query(
    `WITH upd AS (
       UPDATE lethe.incident_scope SET state = 'freezing', error_code = NULL, error_message = NULL, updated_at = now()
        WHERE id = $1 AND state IN ('draft','failed') AND scope_sealed IS NOT NULL RETURNING *),
     i AS (SELECT upd.*, inc.reference FROM upd JOIN lethe.incident inc ON inc.id = upd.incident_id),
     audit AS (${scopeAudit("incident.scope_freeze_requested", "$2", "'{}'::jsonb", "i")})
     SELECT * FROM upd`,
    [scopeId, by],
  )) as ScopeRow[];
  return rows[0] ?? null;
}

/** Locks a `freezing` scope for its freeze transaction; null when it is not freezing (done, or another job holds it). */
export async function lockFreezingScope(q: Sql, scopeId: string): Promise<ScopeRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_scope WHERE id = $1 AND state = 'freezing' FOR UPDATE SKIP LOCKED`, [scopeId])) as ScopeRow[];
  return rows[0] ?? null;
}

/** Marks the scope frozen (inside the freeze transaction) with its counts and the affected set's hash; audited. */
export async function markScopeFrozen(
  q: Sql,
  scopeId: string,
  f: { counts: Record<string, unknown>; people: number; records: number; added: number; affectedSetHash: string; incidentPeople: number },
): Promise<void> {
  await q.query(
    `WITH upd AS (
       UPDATE lethe.incident_scope SET state = 'frozen', counts = $2, people = $3, records = $4, affected_set_hash = $5, frozen_at = now(), updated_at = now()
        WHERE id = $1 RETURNING *),
     i AS (SELECT upd.*, inc.reference FROM upd JOIN lethe.incident inc ON inc.id = upd.incident_id),
     audit AS (${scopeAudit(
       "incident.scope_frozen",
       "'lethe'",
       "jsonb_build_object('people', people, 'records', records, 'added', $6::int, 'incidentPeople', $7::int, 'affectedSetSha256', affected_set_hash, 'counts', counts)",
       "i",
     )})
     SELECT 1`,
    [scopeId, JSON.stringify(f.counts), f.people, f.records, f.affectedSetHash, f.added, f.incidentPeople],
  );
}

/** Marks a freezing scope failed, with a code and a message naming no personal data; audited. */
export async function markScopeFailed(q: Sql, scopeId: string, code: string, message: string): Promise<void> {
  await q.query(
    `WITH upd AS (
       UPDATE lethe.incident_scope SET state = 'failed', error_code = $2, error_message = $3, updated_at = now() WHERE id = $1 AND state = 'freezing' RETURNING *),
     i AS (SELECT upd.*, inc.reference FROM upd JOIN lethe.incident inc ON inc.id = upd.incident_id),
     audit AS (${scopeAudit("incident.scope_failed", "'lethe'", "jsonb_build_object('code', error_code)", "i")})
     SELECT 1`,
    [scopeId, code, message],
  );
}

/** Scopes left `freezing` for longer than `graceMs` (their job may be gone). */
export async function freezingScopes(q: Sql, graceMs: number): Promise<string[]> {
  const rows = (await q.query(
    `SELECT id FROM lethe.incident_scope WHERE state = 'freezing' AND updated_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [graceMs],
  )) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** Records of every frozen scope of the incident, summed. */
export async function frozenRecords(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(`SELECT coalesce(sum(records), 0)::bigint::text AS n FROM lethe.incident_scope WHERE incident_id = $1 AND state = 'frozen'`, [
    incidentId,
  ])) as Array<{ n: string }>;
  return Number(rows[0]?.n ?? 0);
}

/** Wipes the sealed values (keys, identities, condition values) of the incident's scopes; returns how many. */
export async function wipeScopeValues(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(
    `UPDATE lethe.incident_scope SET scope_sealed = NULL, updated_at = now() WHERE incident_id = $1 AND scope_sealed IS NOT NULL RETURNING id`,
    [incidentId],
  )) as [unknown[], number];
  return rows[1];
}
