import { freezeScope } from "../src/incidents/scopes";
import { FREEZE_SCOPE } from "../src/queues/jobs/freeze-scope";
import { processorOf } from "./handler";

/** Freezes one breach scope (`incidents/scopes.freezeScope`). */
export const freezeScopeJob = processorOf(FREEZE_SCOPE, (payload, _job, { services, logger, signal }) =>
  freezeScope(services, payload.scopeId, logger, signal),
);
