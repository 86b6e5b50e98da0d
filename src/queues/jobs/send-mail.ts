import { z } from "zod";
import { defineJob } from "../define-job";
import { mailJobOptions } from "../../mail/retry-policy";
import { QUEUES } from "../names";

/** Deterministic job id of one message: `mail-<kind>-<id>` (e.g. `mail-export-<exportId>`). */
export function mailJobId(kind: string, id: string): string {
  return `mail-${kind}-${id}`;
}

/**
 * `send-mail`: sends one message (rate-limited, pooled SMTP). Payload: what the message is about,
 * by id only — never an address. One kind per message type: `export` (the download link),
 * `notice` (a rights notice: extension, refusal, restriction lifted, objection decision).
 */
export const SEND_MAIL = defineJob({
  name: "send-mail",
  queue: QUEUES.mail,
  payload: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("export"), exportId: z.uuid() }).strict(),
    z.object({ kind: z.literal("notice"), noticeId: z.uuid() }).strict(),
  ]),
  // An SMTP outage is ridden out for hours (LETHE_SMTP_RETRY_HOURS), the delay doubling up to an hour.
  options: mailJobOptions,
  jobId: (p) => mailJobId(p.kind, p.kind === "export" ? p.exportId : p.noticeId),
});
