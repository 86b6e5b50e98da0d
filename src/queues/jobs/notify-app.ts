import type { Queue } from "bullmq";
import { z } from "zod";
import type { Config } from "../../config";
import { defineJob } from "../define-job";
import { QUEUES } from "../names";

/** `notify-app`: tells the application that a request completed or failed (optional, signed like processor calls). */
export const NOTIFY_APP = defineJob({
  name: "notify-app",
  queue: QUEUES.maintenance,
  payload: z.object({ requestId: z.uuid(), event: z.enum(["request.completed", "request.failed"]) }).strict(),
  options: () => ({ attempts: 10, backoff: { type: "exponential", delay: 2000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 24 * 3600 } }),
  // Sent once per event.
  jobId: (p) => `notify-${p.requestId}-${p.event.replace(".", "-")}`,
});

/** What {@link NOTIFY_APP} reports. */
export type AppEvent = z.infer<typeof NOTIFY_APP.payload>["event"];

/** Enqueues the notification when a callback URL is configured. */
export async function enqueueNotifyApp(queue: Queue, config: Config, requestId: string, event: AppEvent): Promise<void> {
  if (!config.callbackUrl) return;
  await NOTIFY_APP.enqueue(queue, config, { requestId, event });
}
