import { Gauge, type Registry } from "prom-client";
import { BANDS } from "../console/deadline";
import { completionBuckets, openDueWithin, openRequestCounts } from "../db/tables/request-list";
import type { Sql } from "../db/tables/sql";
import { failedStoreCounts } from "../db/tables/request-store";

/** Upper bounds of the completion-time histogram, in seconds: 1 min … 90 days. */
export const COMPLETION_BUCKETS = [60, 600, 3600, 6 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400, 60 * 86_400, 90 * 86_400];

/**
 * The deadline gauges, read from Postgres at scrape time (previews apart: real requests only):
 * open requests by type and deadline band (failed ones are open, and
 * overdue once past their date), and the completion-time histogram (`renderCompletion`, written
 * as text: prom-client's histograms only count observations of this process).
 */
export function defineRequestGauges(registry: Registry, ds: Sql): { refresh: () => Promise<void>; renderCompletion: () => Promise<string> } {
  const open = new Gauge({
    name: "lethe_requests_open",
    help: "Requests not yet answered (failed included) by type and deadline band: on_track, due_soon (7 days or less), overdue",
    labelNames: ["type", "band"],
    registers: [registry],
  });
  const overdue = new Gauge({
    name: "lethe_requests_overdue",
    help: "Requests not yet answered (failed included) past their Art. 12(3) due date",
    labelNames: ["type"],
    registers: [registry],
  });
  const dueSoon = new Gauge({
    name: "lethe_requests_due_within_7d",
    help: "Requests not yet answered due within 7 days",
    labelNames: ["type"],
    registers: [registry],
  });
  const dueIn3d = new Gauge({
    name: "lethe_requests_due_within_3d",
    help: "Requests not yet answered due within 3 days",
    labelNames: ["type"],
    registers: [registry],
  });
  const storesFailed = new Gauge({
    name: "lethe_request_stores_failed",
    help: "Stores failed in requests not yet answered, by store",
    labelNames: ["store"],
    registers: [registry],
  });
  const failed = new Gauge({ name: "lethe_requests_failed", help: "Requests failed and waiting for a retry", labelNames: ["type"], registers: [registry] });

  const refresh = async (): Promise<void> => {
    const now = new Date();
    const [bands, within3, stores] = await Promise.all([openRequestCounts(ds, now, false), openDueWithin(ds, now, 72), failedStoreCounts(ds)]);
    storesFailed.reset();
    for (const st of stores) storesFailed.set({ store: st.store }, st.n);
    failed.reset();
    for (const b of bands) if (b.status === "failed") failed.inc({ type: b.type }, b.n);
    open.reset();
    overdue.reset();
    dueSoon.reset();
    dueIn3d.reset();
    const types = new Set(bands.map((b) => b.type));
    for (const type of types) {
      for (const band of BANDS.filter((b) => b !== "closed")) open.set({ type, band }, 0);
      overdue.set({ type }, 0);
      dueSoon.set({ type }, 0);
      dueIn3d.set({ type }, 0);
    }
    for (const b of bands) {
      if (b.band === "closed") continue;
      open.inc({ type: b.type, band: b.band }, b.n);
      if (b.band === "overdue") overdue.inc({ type: b.type }, b.n);
      if (b.band === "due_soon") dueSoon.inc({ type: b.type }, b.n);
    }
    for (const r of within3) dueIn3d.set({ type: r.type }, r.n);
  };

  const renderCompletion = async (): Promise<string> => {
    const rows = await completionBuckets(ds, COMPLETION_BUCKETS);
    const name = "lethe_request_completion_seconds";
    const lines = [`# HELP ${name} Time from receipt to completion of completed requests (dry_run="true": previews)`, `# TYPE ${name} histogram`];
    for (const r of rows) {
      const labels = `type="${r.type}",dry_run="${r.dry_run}"`;
      COMPLETION_BUCKETS.forEach((le, i) => lines.push(`${name}_bucket{${labels},le="${le}"} ${r.buckets[i] ?? 0}`));
      lines.push(`${name}_bucket{${labels},le="+Inf"} ${r.count}`, `${name}_sum{${labels}} ${r.sum}`, `${name}_count{${labels}} ${r.count}`);
    }
    return `${lines.join("\n")}\n`;
  };
  return { refresh, renderCompletion };
}
