import type { DataSource } from "typeorm";
import { subjectHash } from "../crypto";

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

/** Keyed hashes of every identity of a subject, as holds and the audit log name it. */
export function identityHashes(hmacKey: Buffer, identities: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(identities)) out[name] = subjectHash(hmacKey, name, value);
  return out;
}

/** Places a hold on the subject named by `identity`/`value`. */
export async function placeHold(
  ds: DataSource,
  hmacKey: Buffer,
  input: { identity: string; value: string; ground: string; until?: Date; by: string },
): Promise<HoldView> {
  const rows = (await ds.query(
    `WITH ins AS (
       INSERT INTO lethe.legal_hold (subject_hash, ground, until, created_by) VALUES ($1, $2, $3, $4) RETURNING *),
     audit AS (
       INSERT INTO lethe.audit_log (event, subject_hash, actor, detail) SELECT 'hold.placed', subject_hash, created_by, jsonb_build_object('holdId', id, 'until', until) FROM ins)
     SELECT ${VIEW_COLUMNS} FROM ins`,
    [subjectHash(hmacKey, input.identity, input.value), input.ground, input.until ?? null, input.by],
  )) as HoldRow[];
  return toView(rows[0]!);
}

/** One hold, or null. */
export async function getHold(ds: DataSource, id: string): Promise<HoldView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = (await ds.query(`SELECT ${VIEW_COLUMNS} FROM lethe.legal_hold WHERE id = $1`, [id])) as HoldRow[];
  return rows[0] ? toView(rows[0]) : null;
}

/**
 * Releases a hold; returns the ids of the requests that waited for it (now `queued` again, to be
 * enqueued by the caller), or null when there is no such hold.
 */
export async function releaseHold(ds: DataSource, id: string, by: string): Promise<string[] | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  return ds.transaction(async (m) => {
    const held = (await m.query(`UPDATE lethe.legal_hold SET released_at = coalesce(released_at, now()) WHERE id = $1 RETURNING subject_hash`, [id])) as [
      Array<{ subject_hash: string }>,
      number,
    ];
    const row = held[0]?.[0];
    if (!row) return null;
    await m.query(`INSERT INTO lethe.audit_log (event, subject_hash, actor, detail) VALUES ('hold.released', $1, $2, jsonb_build_object('holdId', $3::text))`, [
      row.subject_hash,
      by,
      id,
    ]);
    return resumeHeldRequests(m, id);
  });
}

/** Moves the requests waiting for `holdId` back to `queued`; returns their ids. */
async function resumeHeldRequests(m: { query: DataSource["query"] }, holdId: string): Promise<string[]> {
  const rows = (await m.query(
    `UPDATE lethe.subject_request SET status = 'queued', hold_id = NULL, updated_at = now() WHERE hold_id = $1 AND status = 'held' RETURNING id`,
    [holdId],
  )) as [Array<{ id: string }>, number];
  return rows[0].map((r) => r.id);
}

/** Held requests whose hold has ended (released or expired): back to `queued`; returns their ids. */
export async function resumeEndedHolds(ds: DataSource): Promise<string[]> {
  const rows = (await ds.query(
    `UPDATE lethe.subject_request r SET status = 'queued', hold_id = NULL, updated_at = now()
       FROM lethe.legal_hold h
      WHERE r.hold_id = h.id AND r.status = 'held' AND NOT (h.released_at IS NULL AND (h.until IS NULL OR h.until > now()))
      RETURNING r.id`,
  )) as [Array<{ id: string }>, number];
  return rows[0].map((r) => r.id);
}
