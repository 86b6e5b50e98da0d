import { markReported, unreportedOpenDsrRequests } from "../src/db/tables/opendsr-request";
import { OPENDSR_CALLBACK } from "../src/queues/jobs/opendsr-callback";
import { OPENDSR_SYNC } from "../src/queues/jobs/opendsr-sync";
import { processorOf } from "./handler";

/** Requests looked at per tick; the rest wait for the next one. */
const BATCH = 500;

/** Enqueues the callbacks of every status change not yet reported (job ids dedupe), then records it reported. */
export const openDsrSync = processorOf(OPENDSR_SYNC, async (_payload, _job, { services, logger }) => {
  const { ds, queues, config } = services;
  const rows = await unreportedOpenDsrRequests(ds, BATCH);
  let callbacks = 0;
  for (const row of rows) {
    for (let url = 0; url < row.callbackUrls.length; url++) {
      await OPENDSR_CALLBACK.enqueue(queues.maintenance, config, { subjectRequestId: row.subjectRequestId, status: row.status, url });
      callbacks++;
    }
    await markReported(ds, row.subjectRequestId, row.status);
  }
  if (rows.length > 0) logger.info({ requests: rows.length, callbacks }, "OpenDSR status changes enqueued");
  return { requests: rows.length, callbacks };
});
