import type { DeliveryStatus } from "../entities/mail-delivery";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.mail_delivery`: one row per message, by a unique key (`export:<id>`), written
 * before the send (`sending`) and after it (`sent`), so a retried job never sends twice.
 */

/** Creates the delivery row (`pending`) unless it exists. */
export async function ensureDelivery(ds: Sql, ref: { key: string; kind: string; requestId: string | null }): Promise<void> {
  await ds.query(`INSERT INTO lethe.mail_delivery (key, kind, request_id, status) VALUES ($1, $2, $3, 'pending') ON CONFLICT (key) DO NOTHING`, [
    ref.key,
    ref.kind,
    ref.requestId,
  ]);
}

/**
 * Claims a `pending` or `sending` delivery for a send: `sending`, one attempt more. Returns the
 * attempt and the status before, or null when the delivery is `sent` or `failed` already.
 */
export async function claimDelivery(q: Sql, key: string): Promise<{ attempts: number; before: DeliveryStatus } | null> {
  const rows = (await q.query(
    `UPDATE lethe.mail_delivery d SET status = 'sending', attempts = d.attempts + 1, updated_at = now()
       FROM (SELECT key, status FROM lethe.mail_delivery WHERE key = $1) AS old
      WHERE d.key = old.key AND d.status IN ('pending', 'sending')
      RETURNING d.attempts, old.status AS before`,
    [key],
  )) as [Array<{ attempts: number; before: DeliveryStatus }>, number] | Array<{ attempts: number; before: DeliveryStatus }>;
  const claimed = (Array.isArray(rows[0]) ? rows[0] : rows) as Array<{ attempts: number; before: DeliveryStatus }>;
  return claimed[0] ?? null;
}

/** A delivery's status, if it exists. */
export async function deliveryStatus(q: Sql, key: string): Promise<DeliveryStatus | undefined> {
  const now = (await q.query(`SELECT status FROM lethe.mail_delivery WHERE key = $1`, [key])) as Array<{ status: DeliveryStatus }>;
  return now[0]?.status;
}

/** Records a failed send: `failed` for good (5xx) or back to `pending` (retryable), with the SMTP code. */
export async function recordSendFailure(q: Sql, key: string, failure: { final: boolean; smtpCode: number | null; code: string }): Promise<void> {
  await q.query(`UPDATE lethe.mail_delivery SET status = $2, smtp_code = $3, error_code = $4, updated_at = now() WHERE key = $1`, [
    key,
    failure.final ? "failed" : "pending",
    failure.smtpCode,
    failure.code,
  ]);
}

/** A CTE body: delivery `keyParam` is `sent` (SMTP 250, the server took it) with Message-ID `messageIdParam` (unless it was already). */
export function deliverySentSql(keyParam: string, messageIdParam: string): string {
  return `UPDATE lethe.mail_delivery SET status = 'sent', sent_at = now(), message_id = ${messageIdParam}, smtp_code = 250, error_code = NULL, updated_at = now()
          WHERE key = ${keyParam} AND status <> 'sent'`;
}

/** A CTE body: the request's unsent deliveries fail (`andWhere`: a further condition, e.g. that the request failed now). */
export function deliveriesFailedSql(requestParam: string, andWhere = "true"): string {
  return `UPDATE lethe.mail_delivery SET status = 'failed', updated_at = now() WHERE request_id = ${requestParam} AND status IN ('pending', 'sending') AND ${andWhere}`;
}

/** A delivery as the console lists it: kind, state, attempts, SMTP outcome; never an address. */
export interface DeliveryListRow {
  key: string;
  kind: string;
  request_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  smtp_code: number | null;
  error_code: string | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

/** The latest deliveries, failed ones first, then pending, then sent, newest first within each; and the counts by status. */
export async function listDeliveryRows(q: Sql, limit: number): Promise<{ rows: DeliveryListRow[]; counts: Record<string, number> }> {
  const [rows, counts] = await Promise.all([
    q.query(
      `SELECT key, kind, request_id, status, attempts, smtp_code, error_code, created_at, updated_at, sent_at FROM lethe.mail_delivery
        ORDER BY CASE status WHEN 'failed' THEN 0 WHEN 'sending' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END, updated_at DESC LIMIT $1`,
      [limit],
    ) as Promise<DeliveryListRow[]>,
    q.query(`SELECT status, count(*)::int AS n FROM lethe.mail_delivery GROUP BY status`) as Promise<Array<{ status: string; n: number }>>,
  ]);
  return { rows, counts: Object.fromEntries(counts.map((c) => [c.status, c.n])) };
}
