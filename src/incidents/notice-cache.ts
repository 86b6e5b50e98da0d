import type { PreparedNotices } from "../breach/notice-templates";
import { noticeVersion } from "../db/tables/incident-notice";
import type { Sql } from "../db/tables/sql";

/** How many notice versions a worker keeps rendered in memory. */
const CAPACITY = 32;

/**
 * The rendered notices of (incident, version) a worker sends from, read once from Postgres: a
 * notice version never changes (append-only), so a fan-out of a million messages reads it once.
 */
export class NoticeCache {
  private readonly entries = new Map<string, Promise<PreparedNotices | null>>();

  /** The prepared notices, or null when the version does not exist. */
  get(q: Sql, incidentId: string, version: number): Promise<PreparedNotices | null> {
    const key = `${incidentId}:${version}`;
    let hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    hit = noticeVersion(q, incidentId, version).then((row) => (row ? { fallbackLocale: row.fallback_locale, notices: row.notices } : null));
    hit.catch(() => this.entries.delete(key));
    this.entries.set(key, hit);
    if (this.entries.size > CAPACITY) this.entries.delete(this.entries.keys().next().value!);
    return hit;
  }
}
