import { reconcileRequests } from "../src/erasure/reconcile-requests";
import { RECONCILE } from "../src/queues/jobs/reconcile";
import { reconcileRights } from "../src/rights/reconcile";
import { processorOf } from "./handler";

/** Runs one reconcile pass (`erasure/reconcile-requests`, then `rights/reconcile`). */
export const reconcile = processorOf(RECONCILE, async (_payload, _job, { services, logger }) => {
  const outcome = await reconcileRequests(services, logger);
  await reconcileRights(services, logger);
  return outcome;
});
