import { failRequest, completeWhenSettled } from "../db/tables/subject-request";
import { firstFailedEvent, noFailedEventsSql, noPendingEventsSql } from "../db/tables/recipient-event";
import { storesDoneSql } from "../db/tables/rights-request";
import { noPendingNoticesSql } from "../db/tables/rights-notice";
import { ERROR_CODES } from "../errors";
import { enqueueNotifyApp } from "../queues/jobs/notify-app";
import type { RightsServices } from "./services";

/** Where a request stands after {@link settleRequest}. */
export type Settled = "completed" | "failed" | "open";

/**
 * Ends a running rights request once everything it does has ended: its stores done, every
 * processor event answered (or marked done / impossible by a person), every notice sent or
 * failed. A processor event that failed for good fails the request visibly (naming the
 * recipient); `POST /v1/requests/:id/retry` sends it again. Safe to call any number of times.
 */
export async function settleRequest(s: Pick<RightsServices, "ds" | "config" | "queues">, requestId: string): Promise<Settled> {
  const failed = await firstFailedEvent(s.ds, requestId);
  if (failed) {
    await failRequest(s.ds, {
      requestId,
      code: ERROR_CODES.recipientFailed,
      message: `recipient "${failed.recipient}" could not be told (${failed.action}): ${failed.errorCode ?? "failed"}`,
      store: null,
      wipeIdentities: false,
    });
    if (s.queues.maintenance) await enqueueNotifyApp(s.queues.maintenance, s.config, requestId, "request.failed").catch(() => undefined);
    return "failed";
  }
  const completed = await completeWhenSettled(s.ds, requestId, {
    conditions: [storesDoneSql("r.id"), noPendingEventsSql("r.id"), noFailedEventsSql("r.id"), noPendingNoticesSql("r.id")],
    result: { steps: [], subjectFound: true },
  });
  if (!completed) return "open";
  if (s.queues.maintenance) await enqueueNotifyApp(s.queues.maintenance, s.config, requestId, "request.completed").catch(() => undefined);
  return "completed";
}
