import type { Queue } from "bullmq";
import type { DataMap } from "../../datamap/schema";
import { requestJobId } from "../../queues/jobs/erase-request";
import { storeJobId } from "../../queues/jobs/erase-store";
import { finalizeJobId } from "../../queues/jobs/finalize-erasure";
import type { RequestView } from "../../requests/view";
import type { TimelineEntry } from "./pages/request";

/** A request's erasure jobs as timeline entries: state and attempts (never payloads or failure texts). */
export async function jobTimeline(queue: Queue, dataMap: DataMap, view: RequestView): Promise<TimelineEntry[]> {
  if (view.type !== "erasure") return [];
  const ids = [requestJobId(view.id), ...Object.keys(dataMap.stores).map((s) => storeJobId(view.id, s)), finalizeJobId(view.id)];
  const out: TimelineEntry[] = [];
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) continue;
    const state = await job.getState();
    const at = job.finishedOn ?? job.processedOn ?? job.timestamp;
    out.push({
      at: new Date(at).toISOString(),
      source: "job",
      what: `${job.name} ${state}`,
      detail: `${job.attemptsMade} attempt${job.attemptsMade === 1 ? "" : "s"}`,
      job: { queue: queue.name, id },
    });
  }
  return out;
}
