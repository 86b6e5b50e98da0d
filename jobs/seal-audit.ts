import { sealAuditLog } from "../src/audit/log";
import { SEAL_AUDIT } from "../src/queues/jobs/seal-audit";
import { processorOf } from "./handler";

/** Most batches one run seals. */
export const MAX_ROUNDS = 20;

/** Seals until nothing is left (at most {@link MAX_ROUNDS} batches); returns rows sealed. */
export const sealAudit = processorOf(SEAL_AUDIT, async (_payload, _job, { services }) => {
  let sealed = 0;
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const n = await sealAuditLog(services.ds);
    sealed += n;
    if (n === 0) break;
  }
  return { sealed };
});
