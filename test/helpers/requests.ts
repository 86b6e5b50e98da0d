import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import type { DataMap } from "../../src/datamap/schema";
import type { SubjectRequest } from "../../src/db/entities/subject-request";
import type { Logger } from "../../src/logger";
import { getRequestView, submitRequest } from "../../src/requests/service";
import type { RequestView } from "../../src/requests/view";
import type { RequestStatus } from "../../src/types";
import { waitFor } from "./wait";

/** What submitting a request in-process needs (a harness has all of it). */
export interface SubmitDeps {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  erasureQueue: Queue;
  logger: Logger;
}

/** Submits an erasure request (or its preview) in-process, as `requestedBy: "test"`. */
export function submitErasure(
  deps: SubmitDeps,
  subject: Record<string, string>,
  opts: { dryRun?: boolean; idempotencyKey?: string } = {},
): Promise<{ request: SubjectRequest; created: boolean }> {
  return submitRequest(
    { ...deps, queues: { erasure: deps.erasureQueue } },
    {
      type: "erasure",
      subject,
      requestedBy: "test",
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
    },
  );
}

/** Polls the request until its status is one of `statuses`; throws with the last view on timeout. */
export async function waitForRequestStatus(ds: DataSource, id: string, statuses: RequestStatus[], timeoutMs = 30_000): Promise<RequestView> {
  let last: RequestView | null = null;
  try {
    return await waitFor(
      async () => {
        last = await getRequestView(ds, id);
        return last && statuses.includes(last.status) ? last : undefined;
      },
      `request ${id} to be ${statuses.join("/")}`,
      timeoutMs,
      50,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last)}`, { cause: err });
  }
}
