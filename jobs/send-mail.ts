import type { Job } from "bullmq";
import { z } from "zod";
import { SEND_MAIL_JOB } from "../src/exports/enqueue";
import { failExportRequest } from "../src/exports/fail-export";
import type { MailRuntime } from "../src/exports/runtime";
import { sendExportMail, type ExportMailOutcome } from "../src/exports/send-export-mail";
import type { Logger } from "../src/logger";
import { parsePayload } from "../src/queues/payload";
import { isLastAttempt } from "./job-failure";

/** Job name: sends one message (queue `mail`, rate-limited, pooled SMTP). */
export const NAME = SEND_MAIL_JOB;

/**
 * Payload: what the message is about, by id only — never an address. One kind per message type
 * (`export` today; breach notifications join this union).
 */
export const PAYLOAD = z.discriminatedUnion("kind", [z.object({ kind: z.literal("export"), exportId: z.uuid() }).strict()]);
/** The payload type. */
export type SendMailPayload = z.infer<typeof PAYLOAD>;

/**
 * Processes one attempt. SMTP 5xx fails at once (no retry); 4xx and network errors retry with
 * backoff. When the job ends in failure the request fails visibly with the SMTP code, not the address.
 */
export async function processSendMail(rt: MailRuntime, job: Job, logger: Logger): Promise<ExportMailOutcome> {
  const payload = parsePayload(PAYLOAD, job.data, NAME);
  const log = logger.child({ jobId: job.id, job: NAME, kind: payload.kind, attempt: job.attemptsMade + 1 });
  try {
    return await sendExportMail(rt, payload.exportId, log);
  } catch (err) {
    const last = isLastAttempt(job, err);
    log.warn({ err, exportId: payload.exportId, last }, last ? "mail failed" : "mail attempt failed; will retry");
    if (last) {
      const rows = (await rt.ds.query(`SELECT request_id FROM lethe.export WHERE id = $1`, [payload.exportId])) as Array<{ request_id: string }>;
      if (rows[0]) await failExportRequest(rt.ds, rt.config.exportDir, rows[0].request_id, err);
    }
    throw err;
  }
}
