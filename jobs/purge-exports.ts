import { purgeExports as purge } from "../src/exports/purge";
import { PURGE_EXPORTS } from "../src/queues/jobs/purge-exports";
import { processorOf } from "./handler";

/** Runs one purge pass. */
export const purgeExports = processorOf(PURGE_EXPORTS, (_payload, _job, { services, logger }) => purge(services.ds, services.config.exportDir, logger));
