import { auditLeftovers, describeFindings, recordLeftoverAudit } from "../src/audit/leftover-audit";
import { ERROR_CODES, PermanentError } from "../src/errors";
import { AUDIT_LEFTOVERS } from "../src/queues/jobs/audit-leftovers";
import { processorOf } from "./handler";

/**
 * Runs the leftover audit and records it in the audit log. Findings fail the job once, visibly
 * (`leftovers_found`, naming tables, columns and counts), so the console and alerts show them;
 * a clean audit returns the counts.
 */
export const auditLeftoversJob = processorOf(AUDIT_LEFTOVERS, async (_payload, _job, { services, logger, signal }) => {
  const report = await auditLeftovers(services, signal ? { signal } : {});
  await recordLeftoverAudit(services.ds, report, "worker");
  const counts = {
    rows: report.rows,
    values: report.values,
    ms: report.ms,
    rowsPerSecond: report.rowsPerSecond,
    stores: report.stores,
    skippedStores: report.skippedStores,
  };
  if (report.findings.length > 0) {
    logger.error({ findings: report.findings, ...counts }, "leftover audit found erased subjects' identities");
    throw new PermanentError(ERROR_CODES.leftoversFound, `erased subjects' identities are still present: ${describeFindings(report.findings)}`);
  }
  logger.info(counts, "leftover audit found nothing");
  return { findings: 0, ...counts };
});
