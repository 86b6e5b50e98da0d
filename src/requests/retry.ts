import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { requeueExportMail, requeueFailedRequest, retryState } from "../db/tables/subject-request";
import { mailJobId, SEND_MAIL } from "../queues/jobs/send-mail";
import { enqueueRequest, requestJobId } from "../queues/jobs/erase-request";
import { storeJobId } from "../queues/jobs/erase-store";
import { finalizeJobId } from "../queues/jobs/finalize-erasure";

/** Why a retry was refused. */
export type RetryRefusal = "not-found" | "not-failed" | "identities-wiped" | "still-active";

/**
 * Resumes a failed erasure at its unfinished stores: finished stores are not redone (their
 * `request_store` rows stay `done`), failed ones start over; the old jobs are removed so the
 * deterministic ids can be used again.
 */
export async function retryRequest(
  ds: DataSource,
  queue: Queue,
  config: Config,
  dataMap: DataMap,
  requestId: string,
  by: string,
): Promise<"retried" | RetryRefusal> {
  if (!/^[0-9a-f-]{36}$/i.test(requestId)) return "not-found";
  const r = await retryState(ds, requestId);
  if (!r) return "not-found";
  if (r.status !== "failed") return "not-failed";
  if (!r.has_identities) return "identities-wiped";
  const ids = [requestJobId(requestId), finalizeJobId(requestId), ...Object.keys(dataMap.stores).map((s) => storeJobId(requestId, s))];
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) continue;
    if (await job.isActive()) return "still-active";
    await job.remove({ removeChildren: true }).catch(() => undefined);
  }
  await requeueFailedRequest(ds, requestId, by);
  await enqueueRequest(queue, config, requestId);
  return "retried";
}

/**
 * Resumes a failed export request whose mail could not be delivered (the export and its link were
 * kept): the delivery is pending again and the mail job is queued afresh (a new retry window).
 * Any other failed export cannot be resumed: make a new request.
 */
export async function retryExportMail(ds: DataSource, mailQueue: Queue, config: Config, requestId: string, by: string): Promise<"retried" | RetryRefusal> {
  const r = await retryState(ds, requestId);
  if (!r) return "not-found";
  if (r.status !== "failed") return "not-failed";
  if (!r.has_identities) return "identities-wiped";
  const exportId = await requeueExportMail(ds, requestId, by);
  if (exportId === null) return "identities-wiped";
  const old = await mailQueue.getJob(mailJobId("export", exportId));
  if (old) {
    if (await old.isActive()) return "still-active";
    await old.remove().catch(() => undefined);
  }
  await SEND_MAIL.enqueue(mailQueue, config, { kind: "export", exportId });
  return "retried";
}
