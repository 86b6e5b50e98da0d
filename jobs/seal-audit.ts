import { sealAuditLog } from "../src/audit/log";
import { SEAL_AUDIT } from "../src/queues/jobs/seal-audit";
import { processorOf } from "./handler";

/** Most batches one run seals. */
export const MAX_ROUNDS = 20;

/** Rows one batch seals. */
export const BATCH = 5000;

/**
 * Seals what is committed now, batch after batch while batches come back full (a backlog; at
 * most {@link MAX_ROUNDS}); rows committed while it runs wait for the next run. (Looping until a
 * batch came back empty chased a busy log row by row: a few rows and six round trips a batch.)
 * Returns rows sealed.
 */
export const sealAudit = processorOf(SEAL_AUDIT, async (_payload, _job, { services }) => {
  let sealed = 0;
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const n = await sealAuditLog(services.ds, BATCH);
    sealed += n;
    if (n < BATCH) break;
  }
  return { sealed };
});
