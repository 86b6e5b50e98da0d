import { breachTick as tick } from "../src/incidents/tick";
import { BREACH_TICK } from "../src/queues/jobs/breach-tick";
import { processorOf } from "./handler";

/** Runs one tick of the breach register's clock (`incidents/tick`). */
export const breachTick = processorOf(BREACH_TICK, (_payload, _job, { services, logger }) => tick(services, logger));
