import type { NoticeTexts, RenderedNotice } from "../../breach/notice-templates";
import { incidentAuditSql } from "./incident";
import type { Sql } from "./sql";

/**
 * Owner of `lethe.incident_notice` (append-only): each version of an incident's Art. 34(2) notice,
 * rendered once per enabled locale (subject, plain text, HTML). A notice names nobody: it is the
 * same text for every person who reads that locale.
 */

/** A stored notice version. */
export interface NoticeRow {
  incident_id: string;
  version: number;
  fallback_locale: string;
  locales: string[];
  texts: Record<string, NoticeTexts>;
  notices: Record<string, RenderedNotice>;
  created_by: string;
  created_at: Date;
}

/**
 * Stores the next version (the latest + 1, computed in the statement) with its
 * `incident.notice_prepared` audit entry (version, locales, the notices' sha256). A concurrent
 * second call fails on the primary key rather than overwriting.
 */
export async function insertNotice(
  q: Sql,
  n: { incidentId: string; fallbackLocale: string; locales: string[]; texts: Record<string, NoticeTexts>; notices: Record<string, RenderedNotice>; by: string },
): Promise<NoticeRow> {
  const rows = (await q.query(
    `WITH ins AS (
       INSERT INTO lethe.incident_notice (incident_id, version, fallback_locale, locales, texts, notices, created_by)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6 FROM lethe.incident_notice WHERE incident_id = $1
       RETURNING *),
     i AS (SELECT inc.id, inc.reference, ins.version, ins.locales, ins.notices, ins.created_by FROM ins JOIN lethe.incident inc ON inc.id = ins.incident_id),
     audit AS (${incidentAuditSql(
       "incident.notice_prepared",
       "created_by",
       "i",
       "jsonb_build_object('version', version, 'locales', locales, 'noticesSha256', encode(sha256(convert_to(notices::text, 'UTF8')), 'hex'))",
     )})
     SELECT * FROM ins`,
    [n.incidentId, n.fallbackLocale, n.locales, JSON.stringify(n.texts), JSON.stringify(n.notices), n.by],
  )) as NoticeRow[];
  return rows[0]!;
}

/** One version, or null. */
export async function noticeVersion(q: Sql, incidentId: string, version: number): Promise<NoticeRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_notice WHERE incident_id = $1 AND version = $2`, [incidentId, version])) as NoticeRow[];
  return rows[0] ?? null;
}

/** The latest version, or null. */
export async function latestNotice(q: Sql, incidentId: string): Promise<NoticeRow | null> {
  const rows = (await q.query(`SELECT * FROM lethe.incident_notice WHERE incident_id = $1 ORDER BY version DESC LIMIT 1`, [incidentId])) as NoticeRow[];
  return rows[0] ?? null;
}

/** Every version's number, locales and date (without the texts), oldest first. */
export async function noticeVersions(
  q: Sql,
  incidentId: string,
): Promise<Array<Pick<NoticeRow, "version" | "locales" | "fallback_locale" | "created_at" | "created_by">>> {
  return (await q.query(`SELECT version, locales, fallback_locale, created_at, created_by FROM lethe.incident_notice WHERE incident_id = $1 ORDER BY version`, [
    incidentId,
  ])) as Array<Pick<NoticeRow, "version" | "locales" | "fallback_locale" | "created_at" | "created_by">>;
}
