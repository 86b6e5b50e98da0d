import type { RightsStep } from "../../stores/rights-side";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.rights_store`: one row per request and store for a rectification (or an erasure
 * of fields): `prepared` with the store transaction's id before it commits, then `done`, or
 * `not_applicable` with the store's reason. Steps name tables, patterns and fields, never values.
 */

/** A store's state within a rights request. */
export interface RightsStoreRow {
  store: string;
  status: "prepared" | "done" | "not_applicable";
  xid: string | null;
  steps: RightsStep[];
  note: string | null;
}

/** Records a store's state (`prepared` with its xid before COMMIT, `done`, or `not_applicable` with a note). */
export async function recordRightsStore(
  q: Sql,
  requestId: string,
  store: string,
  r: { status: RightsStoreRow["status"]; steps: RightsStep[]; xid: string | null; note: string | null },
): Promise<void> {
  await q.query(
    `INSERT INTO lethe.rights_store (request_id, store, status, xid, steps, note) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (request_id, store) DO UPDATE SET status = EXCLUDED.status, xid = EXCLUDED.xid, steps = EXCLUDED.steps, note = EXCLUDED.note, updated_at = now()
     WHERE lethe.rights_store.status = 'prepared'`,
    [requestId, store, r.status, r.xid, JSON.stringify(r.steps), r.note],
  );
}

/** A `prepared` store is `done` (its transaction committed). */
export async function markRightsStoreDone(q: Sql, requestId: string, store: string): Promise<void> {
  await q.query(`UPDATE lethe.rights_store SET status = 'done', updated_at = now() WHERE request_id = $1 AND store = $2 AND status = 'prepared'`, [
    requestId,
    store,
  ]);
}

/** A request's stores, in the order they were recorded. */
export async function rightsStoresOf(q: Sql, requestId: string): Promise<RightsStoreRow[]> {
  const rows = (await q.query(`SELECT store, status, xid::text AS xid, steps, note FROM lethe.rights_store WHERE request_id = $1 ORDER BY updated_at, store`, [
    requestId,
  ])) as RightsStoreRow[];
  return rows;
}
