import { reconcileRequests } from "../src/erasure/reconcile-requests";
import { RECONCILE } from "../src/queues/jobs/reconcile";
import { processorOf } from "./handler";

/** Runs one reconcile pass (`erasure/reconcile-requests`). */
export const reconcile = processorOf(RECONCILE, (_payload, _job, { services, logger }) => reconcileRequests(services, logger));
