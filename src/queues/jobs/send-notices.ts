import { createHash } from "node:crypto";
import { z } from "zod";
import { defineJob } from "../define-job";
import { QUEUES } from "../names";
import { noticeJobOptions } from "./send-notice";

/** The most notifications one `send-notices` job carries. (Default: 100) */
export const NOTICE_CHUNK = 100;

/**
 * Deterministic job id of a chunk: `notices-` and a hash of its incident and notification ids, so
 * a sync that reads the same pending rows adds nothing twice. Chunks read at different times may
 * overlap; a row is claimed by one send only, so an overlap costs a wait, never a second message.
 */
export function noticesJobId(incidentId: string, notificationIds: readonly string[]): string {
  const h = createHash("sha256").update(incidentId);
  for (const id of notificationIds) h.update(`\n${id}`);
  return `notices-${h.digest("hex").slice(0, 40)}`;
}

/**
 * `send-notices`: sends a chunk of people their Art. 34(2) notices, on the mail queue, through the
 * process's pooled SMTP transport (`incidents/notice-sender`). Payload: the incident id and up to
 * {@link NOTICE_CHUNK} notification ids; the addresses stay sealed on the affected-set rows.
 */
export const SEND_NOTICES = defineJob({
  name: "send-notices",
  queue: QUEUES.mail,
  payload: z.object({ incidentId: z.uuid(), notificationIds: z.array(z.uuid()).min(1).max(NOTICE_CHUNK) }).strict(),
  options: noticeJobOptions,
  jobId: (p) => noticesJobId(p.incidentId, p.notificationIds),
});
