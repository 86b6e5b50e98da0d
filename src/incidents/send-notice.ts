/**
 * What every breach notice carries and where its address is kept. Notices are sent by the
 * process's {@link import("./notice-sender").NoticeSender} (`send-notices` jobs, and the
 * `send-notice` jobs of one person queued before chunks existed).
 */

/** The header every notice carries: the notification's id, the same on every attempt, so a receiver (or a test's sink) can tell copies apart. */
export const NOTIFICATION_ID_HEADER = "X-Lethe-Notification-Id";

/** The header naming the incident's reference (`BR-2025-0001`). */
export const INCIDENT_HEADER = "X-Lethe-Incident";

/** What an affected person's sealed contact holds. */
export interface SealedContact {
  email: string | null;
  locale: string | null;
  country: string | null;
}
