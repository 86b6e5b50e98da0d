import type { ClientBase } from "pg";
import { appendAuditSql } from "./audit-log";
import { RESTRICTED_HASHES_SQL } from "./restriction";
import type { Sql } from "./sql";

/** Owner of `lethe.legal_hold`. A hold names its subject by keyed hash only. */

/** SQL condition (on alias `h`) for a hold that is in force now. */
export const ACTIVE_HOLD_SQL = "h.released_at IS NULL AND (h.until IS NULL OR h.until > now())";

/** A legal hold as the API and the erasure see it (no personal data: the subject is a keyed hash). */
export interface HoldView {
  id: string;
  ground: string;
  until: string | null;
  createdAt: string;
  releasedAt: string | null;
  active: boolean;
}

interface HoldRow {
  id: string;
  ground: string;
  until: Date | null;
  created_at: Date;
  released_at: Date | null;
  active: boolean;
}

const VIEW_COLUMNS = `id, ground, until, created_at, released_at, (released_at IS NULL AND (until IS NULL OR until > now())) AS active`;

function toView(r: HoldRow): HoldView {
  return {
    id: r.id,
    ground: r.ground,
    until: r.until ? r.until.toISOString() : null,
    createdAt: r.created_at.toISOString(),
    releasedAt: r.released_at ? r.released_at.toISOString() : null,
    active: r.active,
  };
}

/** Places a hold on the subject named by `subjectHash`, with its audit entry, in one statement. */
export async function insertHold(ds: Sql, input: { subjectHash: string; ground: string; until?: Date; by: string }): Promise<HoldView> {
  const rows = (await ds.query(
    `WITH ins AS (
       INSERT INTO lethe.legal_hold (subject_hash, ground, until, created_by) VALUES ($1, $2, $3, $4) RETURNING *),
     audit AS (
       ${appendAuditSql({ event: "'hold.placed'", subjectHash: "subject_hash", actor: "created_by", detail: "jsonb_build_object('holdId', id, 'until', until)" }, "ins")})
     SELECT ${VIEW_COLUMNS} FROM ins`,
    [input.subjectHash, input.ground, input.until ?? null, input.by],
  )) as HoldRow[];
  return toView(rows[0]!);
}

/** One hold, or null. */
export async function getHold(ds: Sql, id: string): Promise<HoldView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = (await ds.query(`SELECT ${VIEW_COLUMNS} FROM lethe.legal_hold WHERE id = $1`, [id])) as HoldRow[];
  return rows[0] ? toView(rows[0]) : null;
}

/** Releases a hold (kept released if it already was); its subject hash, or null when there is no such hold. */
export async function releaseHoldRow(m: Sql, id: string): Promise<string | null> {
  const held = (await m.query(`UPDATE lethe.legal_hold SET released_at = coalesce(released_at, now()) WHERE id = $1 RETURNING subject_hash`, [id])) as [
    Array<{ subject_hash: string }>,
    number,
  ];
  return held[0]?.[0]?.subject_hash ?? null;
}

/** A hold's ground and end, as a held request's view shows it. */
export async function holdSummary(ds: Sql, id: string): Promise<{ id: string; ground: string; until: Date | null } | undefined> {
  const rows = (await ds.query(`SELECT id, ground, until FROM lethe.legal_hold WHERE id = $1`, [id])) as Array<{
    id: string;
    ground: string;
    until: Date | null;
  }>;
  return rows[0];
}

/** Keyed hashes of the subjects under an active legal hold (on a sweep's own connection). */
export async function activeHoldHashes(db: Pick<ClientBase, "query">): Promise<string[]> {
  const res = await db.query<{ subject_hash: string }>(`SELECT DISTINCT h.subject_hash FROM lethe.legal_hold h WHERE ${ACTIVE_HOLD_SQL}`);
  return res.rows.map((r) => r.subject_hash);
}

/**
 * Keyed hashes of the subjects a sweep must skip, in one round trip: under an active legal hold,
 * or under a restriction in force (`restriction.RESTRICTED_HASHES_SQL`, Art. 18).
 */
export async function sweepExemptHashes(db: Pick<ClientBase, "query">): Promise<string[]> {
  const res = await db.query<{ subject_hash: string }>(`SELECT h.subject_hash FROM lethe.legal_hold h WHERE ${ACTIVE_HOLD_SQL} UNION ${RESTRICTED_HASHES_SQL}`);
  return res.rows.map((r) => r.subject_hash);
}

/** How many holds are in force. */
export async function activeHoldCount(ds: Sql): Promise<number> {
  const rows = (await ds.query(`SELECT count(*)::int AS n FROM lethe.legal_hold WHERE released_at IS NULL AND (until IS NULL OR until > now())`)) as Array<{
    n: number;
  }>;
  return rows[0]?.n ?? 0;
}

/** A subquery: the id of the oldest active hold on any of the keyed hashes in `$<hashesParam>` (a text array). */
export function activeHoldIdSql(hashesParam: string): string {
  return `SELECT h.id FROM lethe.legal_hold h WHERE h.subject_hash = ANY(${hashesParam}::text[]) AND ${ACTIVE_HOLD_SQL}
        ORDER BY h.created_at LIMIT 1`;
}

/** A FROM item and condition: the held requests (alias `r`) whose hold (alias `h`) is no longer in force. */
export const ENDED_HOLD_JOIN = { from: "lethe.legal_hold h", where: `r.hold_id = h.id AND NOT (${ACTIVE_HOLD_SQL})` };

/** A page of holds, newest first (keyset on `(created_at, id)`), with how many requests wait for each; `limit + 1` rows tell whether more follow. */
export async function listHoldRows(
  ds: Sql,
  f: { active?: boolean; limit: number; before: { at: string; id: string } | null },
): Promise<Array<HoldView & { waiting: number; createdKey: string }>> {
  const rows = (await ds.query(
    `SELECT ${VIEW_COLUMNS}, (SELECT count(*)::int FROM lethe.subject_request r WHERE r.hold_id = legal_hold.id AND r.status = 'held') AS waiting,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
       FROM lethe.legal_hold
      WHERE ($1::boolean IS NULL OR (released_at IS NULL AND (until IS NULL OR until > now())) = $1)
        AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [f.active ?? null, f.before?.at ?? null, f.before?.id ?? null, f.limit + 1],
  )) as Array<HoldRow & { waiting: number; created_key: string }>;
  return rows.map((r) => ({ ...toView(r), waiting: r.waiting, createdKey: r.created_key }));
}
