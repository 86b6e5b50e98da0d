import type { QueueName } from "../src/queues/names";
import { breachTick } from "./breach-tick";
import { auditLeftoversJob } from "./audit-leftovers";
import { applyRightsJob } from "./apply-rights";
import { buildExport } from "./build-export";
import { eraseRequest } from "./erase-request";
import { eraseStore } from "./erase-store";
import { finalizeErasure } from "./finalize-erasure";
import { freezeScopeJob } from "./freeze-scope";
import type { JobHandler } from "./handler";
import { notifyApp } from "./notify-app";
import { openDsrCallback } from "./opendsr-callback";
import { openDsrSync } from "./opendsr-sync";
import { purgeExports } from "./purge-exports";
import { reconcile } from "./reconcile";
import { retentionSweep } from "./retention-sweep";
import { sealAudit } from "./seal-audit";
import { sendMail } from "./send-mail";
import { sendNoticeJob } from "./send-notice";
import { sendNoticesJob } from "./send-notices";
import { syncNotices } from "./sync-notices";
import { tellRecipientJob } from "./tell-recipient";

/** The job table: every job Lethe runs, with its processor. The worker dispatches from it; a new job adds one line. */
export const JOBS: readonly JobHandler[] = [
  eraseRequest,
  eraseStore,
  finalizeErasure,
  buildExport,
  sendMail,
  retentionSweep,
  reconcile,
  sealAudit,
  purgeExports,
  notifyApp,
  freezeScopeJob,
  syncNotices,
  sendNoticeJob,
  sendNoticesJob,
  breachTick,
  auditLeftoversJob,
  applyRightsJob,
  tellRecipientJob,
  openDsrSync,
  openDsrCallback,
];

/** The handlers of one queue's jobs, by job name. */
export function handlersOf(queue: QueueName): ReadonlyMap<string, JobHandler> {
  return new Map(JOBS.filter((j) => j.definition.queue === queue).map((j) => [j.definition.name, j]));
}
