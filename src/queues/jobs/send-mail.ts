import { z } from "zod";
import { defineJob, retriedJobOptions } from "../define-job";
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
  options: retriedJobOptions,
  jobId: (p) => mailJobId(p.kind, p.kind === "export" ? p.exportId : p.noticeId),
});
