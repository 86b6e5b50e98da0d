import type { Queue } from "bullmq";
import { z } from "zod";
import type { Config } from "../../config";
import type { EventKey } from "../../db/tables/recipient-event";
import { RECIPIENT_ACTIONS } from "../../stores/rights-side";
import { defineJob, retriedJobOptions } from "../define-job";
import { QUEUES } from "../names";

/** Deterministic job id of one recipient event (store names have no `:`). */
export function tellJobId(key: EventKey): string {
  return `recipient-${key.action}-${key.requestId}-${key.recipient}`;
}

/**
 * `tell-recipient`: sends one recipient event (Art. 19) to a processor. Payload: the event's key
 * (request id, recipient store, action) and how often an unavailable processor was waited for.
 */
export const TELL_RECIPIENT = defineJob({
  name: "tell-recipient",
  queue: QUEUES.rights,
  payload: z
    .object({
      requestId: z.uuid(),
      recipient: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
      action: z.enum(RECIPIENT_ACTIONS),
      waits: z.number().int().min(0).optional(),
    })
    .strict(),
  options: retriedJobOptions,
  jobId: (p) => tellJobId(p),
});

/** Adds the job of each event; `replaceFinished` first removes a finished job of the same id (a retried event). */
export async function enqueueTellRecipients(
  queue: Queue,
  config: Config,
  keys: readonly EventKey[],
  options: { replaceFinished?: boolean } = {},
): Promise<void> {
  for (const key of keys) {
    if (options.replaceFinished) {
      const old = await queue.getJob(tellJobId(key));
      if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove().catch(() => undefined);
    }
    await TELL_RECIPIENT.enqueue(queue, config, { requestId: key.requestId, recipient: key.recipient, action: key.action });
  }
}
