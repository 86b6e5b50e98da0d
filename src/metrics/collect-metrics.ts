import type { Queue } from "bullmq";
import { Gauge, Registry } from "prom-client";
import type { DataSource } from "typeorm";
import { unsealedCount } from "../db/tables/audit-log";
import { activeHoldCount } from "../db/tables/legal-hold";
import { rowsChangedByPolicy } from "../db/tables/retention-run";
import { completedCounts, requestCounts } from "../db/tables/subject-request";
import { defineIncidentGauges } from "./incident-metrics";
import { defineRequestGauges } from "./request-metrics";

/**
 * Prometheus metrics, computed from the source of truth at scrape time (Postgres, and BullMQ's
 * job counts), so every API process reports the same numbers whatever worker did the work.
 * Labels carry types, statuses, queue and policy names only — never a subject.
 */
export class LetheMetrics {
  private readonly registry = new Registry();
  private readonly refresh: () => Promise<void>;
  private readonly renderCompletion: () => Promise<string>;

  constructor(ds: DataSource, queues: Queue[]) {
    const refreshOthers = defineGauges(this.registry, ds, queues);
    const requests = defineRequestGauges(this.registry, ds);
    const refreshIncidents = defineIncidentGauges(this.registry, ds);
    this.renderCompletion = requests.renderCompletion;
    this.refresh = async () => {
      await Promise.all([refreshOthers(), requests.refresh(), refreshIncidents()]);
    };
  }

  /** Refreshes the gauges and renders them in the Prometheus text format (the completion histogram last). */
  async render(): Promise<string> {
    await this.refresh();
    const [gauges, completion] = await Promise.all([this.registry.metrics(), this.renderCompletion()]);
    return `${gauges}\n${completion}`;
  }

  /** The `Content-Type` of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

function defineGauges(registry: Registry, ds: DataSource, queues: Queue[]): () => Promise<void> {
  const requests = new Gauge({
    name: "lethe_requests",
    help: "Subject requests by type and status (real requests only; previews are lethe_request_previews)",
    labelNames: ["type", "status"],
    registers: [registry],
  });
  const previews = new Gauge({
    name: "lethe_request_previews",
    help: "Previews (dry runs) by type and status",
    labelNames: ["type", "status"],
    registers: [registry],
  });
  const completed = new Gauge({
    name: "lethe_requests_completed",
    help: "Completed requests by type, outcome (done, previewed, subject_not_found) and dry run",
    labelNames: ["type", "outcome", "dry_run"],
    registers: [registry],
  });
  const retention = new Gauge({
    name: "lethe_retention_rows_changed",
    help: "Rows anonymized or deleted by completed retention runs (not dry runs)",
    labelNames: ["policy", "action"],
    registers: [registry],
  });
  const held = new Gauge({ name: "lethe_legal_holds_active", help: "Legal holds in force", registers: [registry] });
  const unsealed = new Gauge({ name: "lethe_audit_unsealed", help: "Audit rows not yet sealed into the hash chain", registers: [registry] });
  const jobs = new Gauge({ name: "lethe_queue_jobs", help: "BullMQ jobs by queue and state", labelNames: ["queue", "state"], registers: [registry] });

  return async (): Promise<void> => {
    const [byStatus, byOutcome, swept, holds, audit] = await Promise.all([
      requestCounts(ds),
      completedCounts(ds),
      rowsChangedByPolicy(ds),
      activeHoldCount(ds),
      unsealedCount(ds),
    ]);
    requests.reset();
    previews.reset();
    for (const r of byStatus) (r.dry_run ? previews : requests).set({ type: r.type, status: r.status }, r.n);
    completed.reset();
    for (const r of byOutcome) completed.set({ type: r.type, outcome: r.outcome, dry_run: String(r.dry_run) }, r.n);
    retention.reset();
    for (const r of swept) retention.set({ policy: r.policy, action: r.action }, Number(r.n));
    held.set(holds);
    unsealed.set(audit);
    jobs.reset();
    for (const q of queues) {
      const counts = await q.getJobCounts("waiting", "active", "delayed", "failed", "completed", "waiting-children", "prioritized");
      for (const [state, n] of Object.entries(counts)) jobs.set({ queue: q.name, state }, n);
    }
  };
}
