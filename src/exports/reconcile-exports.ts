import { unfinishedExportRequests } from "../db/tables/export";
import { ERROR_CODES, PermanentError } from "../errors";
import { BUILD_EXPORT, exportJobId } from "../queues/jobs/build-export";
import { mailJobId, SEND_MAIL } from "../queues/jobs/send-mail";
import type { Services } from "../services";
import { failExportRequest } from "./fail-export";

/** What one pass did. */
export interface ExportReconcileOutcome {
  checked: number;
  enqueued: number;
  failed: number;
}

/**
 * Makes Redis agree with Postgres for export requests: an unfinished request whose job is gone
 * gets it back — the mail job when its zip is ready, else the build job (which itself re-enqueues
 * the mail of a ready zip) — and one whose job failed for good is failed visibly.
 */
export async function reconcileExports(deps: Pick<Services, "ds" | "config" | "queues">, graceMs: number): Promise<ExportReconcileOutcome> {
  const rows = await unfinishedExportRequests(deps.ds, graceMs);
  const outcome: ExportReconcileOutcome = { checked: rows.length, enqueued: 0, failed: 0 };
  for (const r of rows) {
    const ready = r.export_status === "ready" && r.export_id !== null;
    const job = ready ? await deps.queues.mail.getJob(mailJobId("export", r.export_id!)) : await deps.queues.export.getJob(exportJobId(r.id));
    if (!job) {
      if (ready) await SEND_MAIL.enqueue(deps.queues.mail, deps.config, { kind: "export", exportId: r.export_id! });
      else await BUILD_EXPORT.enqueue(deps.queues.export, deps.config, { requestId: r.id });
      outcome.enqueued++;
      continue;
    }
    if ((await job.getState()) === "failed") {
      await failExportRequest(deps.ds, deps.config.exportDir, r.id, new PermanentError(ERROR_CODES.jobFailed, "the request's job failed; see the dashboard"));
      outcome.failed++;
    }
  }
  return outcome;
}
