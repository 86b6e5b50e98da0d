import { syncNoticeJobs } from "../src/incidents/sync-notices";
import { SYNC_NOTICES } from "../src/queues/jobs/sync-notices";
import { processorOf } from "./handler";

/** Feeds an incident's pending notices to the mail queue, or takes them off while paused (`incidents/sync-notices`). */
export const syncNotices = processorOf(SYNC_NOTICES, (payload, _job, { services, logger, signal }) =>
  syncNoticeJobs(services, payload.incidentId, logger, signal),
);
