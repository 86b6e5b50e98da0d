import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_affected`: the people a breach affects, by keyed hash of their key
 * (the same hash the audit log names them by), each with their contact (e-mail, locale, country)
 * sealed with AES-256-GCM while notices go out; the contact is wiped after the incident closes.
 */

/** Adds a batch of people (idempotent: a person already in the set stays as they are); returns how many were new. */
export async function insertAffected(q: Sql, incidentId: string, scopeId: string, hmacs: string[], contacts: Array<Buffer | null>): Promise<number> {
  if (hmacs.length === 0) return 0;
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_affected (incident_id, subject_hmac, scope_id, contact)
       SELECT $1, h, $2, c FROM unnest($3::text[], $4::bytea[]) AS u(h, c)
       ON CONFLICT (incident_id, subject_hmac) DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [incidentId, scopeId, hmacs, contacts],
  )) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

/** How many people the incident affects. */
export async function affectedCount(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(`SELECT count(*)::int AS n FROM lethe.incident_affected WHERE incident_id = $1`, [incidentId])) as Array<{ n: number }>;
  return rows[0]?.n ?? 0;
}

/**
 * The affected set's hash: sha256 over the people's keyed hashes, sorted, joined by newlines —
 * what a frozen scope writes into the audit chain, recomputable from this table at any time.
 */
export async function affectedSetHash(q: Sql, incidentId: string): Promise<{ hash: string; people: number }> {
  const rows = (await q.query(
    `SELECT encode(sha256(convert_to(coalesce(string_agg(subject_hmac, E'\n' ORDER BY subject_hmac), ''), 'UTF8')), 'hex') AS hash, count(*)::int AS people
       FROM lethe.incident_affected WHERE incident_id = $1`,
    [incidentId],
  )) as Array<{ hash: string; people: number }>;
  return rows[0]!;
}

/** Wipes every sealed contact of the incident; returns how many were wiped. */
export async function wipeContacts(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(`UPDATE lethe.incident_affected SET contact = NULL WHERE incident_id = $1 AND contact IS NOT NULL`, [incidentId])) as [
    unknown[],
    number,
  ];
  return rows[1];
}

/** How many sealed contacts the incident still holds. */
export async function contactsHeld(q: Sql, incidentId: string): Promise<number> {
  const rows = (await q.query(`SELECT count(*)::int AS n FROM lethe.incident_affected WHERE incident_id = $1 AND contact IS NOT NULL`, [incidentId])) as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}
