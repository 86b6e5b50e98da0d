import type { Queue } from "bullmq";
import type { Config } from "../config";
import { exportJobId, mailJobId } from "../queues/names";

/** Job name of an export's build (`jobs/build-export.ts`). */
export const BUILD_EXPORT_JOB = "build-export";
/** Job name of one message (`jobs/send-mail.ts`). */
export const SEND_MAIL_JOB = "send-mail";

const retained = (config: Config) => ({
  attempts: config.jobAttempts,
  backoff: { type: "exponential" as const, delay: config.backoffMs },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

/** Adds an export request's build job (idempotent: the job id is derived from the request id). */
export async function enqueueBuildExport(queue: Queue, config: Config, requestId: string): Promise<void> {
  await queue.add(BUILD_EXPORT_JOB, { requestId }, { jobId: exportJobId(requestId), ...retained(config) });
}

/** Adds the mail job of a ready export (`mail-export-<exportId>`); the payload is the id only. */
export async function enqueueExportMail(queue: Queue, config: Config, exportId: string): Promise<void> {
  await queue.add(SEND_MAIL_JOB, { kind: "export", exportId }, { jobId: mailJobId("export", exportId), ...retained(config) });
}
