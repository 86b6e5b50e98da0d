import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import { requeueFailedRequest, retryState } from "../db/tables/subject-request";
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
