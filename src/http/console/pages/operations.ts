import type { RetentionPolicyOverview } from "../../../console/retention-overview";
import type { DeliveryListRow } from "../../../db/tables/mail-delivery";
import type { HoldView } from "../../../db/tables/legal-hold";
import type { RetentionRunView } from "../../../retention/runs";
import type { ChainReport } from "../../../audit/log";
import { CONSOLE_PATH, day, esc, instant } from "../layout";

/**
 * The console's operational pages: retention (policies and runs), deliveries (failures first),
 * legal holds, and the audit chain's verification.
 */

function ms(n: number | null): string {
  if (n === null) return "—";
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** Retention: each policy with its schedule, last and next run, rows changed, longest batch, failures; then the latest runs. */
export function retentionBody(policies: RetentionPolicyOverview[], runs: RetentionRunView[]): string {
  const policyHtml = policies.length
    ? `<table><caption>Policies (storage limitation, Art. 5(1)(e))</caption><thead><tr><th scope="col">Policy</th><th scope="col">Table</th><th scope="col">Action</th><th scope="col">Due when</th><th scope="col">Schedule</th><th scope="col">Last run</th><th scope="col" class="num">Rows changed</th><th scope="col" class="num">Longest batch</th><th scope="col">Next run</th><th scope="col" class="num">Failures (30 days)</th></tr></thead><tbody>${policies
        .map((p) => {
          const last = p.lastRun;
          const lastText = last
            ? `${instant(last.finishedAt ?? last.startedAt ?? last.createdAt)} <span class="${last.status === "failed" ? "bad" : last.status === "completed" ? "good" : ""}">${esc(last.status)}</span>${last.error ? ` <span class="bad">${esc(last.error.code)}</span>` : ""}`
            : '<span class="muted">never</span>';
          return `<tr data-policy="${esc(p.name)}"><td>${esc(p.name)}</td><td>${esc(p.store)}.${esc(p.table)}</td><td>${esc(p.action)}</td><td>${esc(p.age)} ${
            p.olderThan ? `older than ${esc(p.olderThan)}` : `before ${esc(p.before ?? "")}`
          }</td><td><code>${esc(p.schedule.cron)}</code> ${esc(p.schedule.tz)}</td><td>${lastText}</td><td class="num">${last ? last.rows.changed : "—"}</td><td class="num">${last ? ms(last.maxBatchMs) : "—"}</td><td>${instant(p.nextRunAt)}</td><td class="num"><span class="${p.failures > 0 ? "bad" : ""}">${p.failures}</span></td></tr>`;
        })
        .join("")}</tbody></table>`
    : "<p>The data map declares no retention policy.</p>";
  const runHtml = runs.length
    ? `<table><caption>Latest runs</caption><thead><tr><th scope="col">Started</th><th scope="col">Policy</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col" class="num">Matched</th><th scope="col" class="num">Changed</th><th scope="col" class="num">Held</th><th scope="col" class="num">Batches</th><th scope="col" class="num">Longest batch</th><th scope="col" class="num">Duration</th></tr></thead><tbody>${runs
        .map(
          (r) =>
            `<tr data-run="${esc(r.id)}"><td>${instant(r.startedAt ?? r.createdAt)}</td><td>${esc(r.policy)}${r.dryRun ? ' <span class="muted">(dry run)</span>' : ""}</td><td>${esc(r.trigger)}</td><td><span class="${r.status === "failed" ? "bad" : ""}">${esc(r.status)}</span>${r.error ? ` ${esc(r.error.code)}` : ""}</td><td class="num">${r.rows.matched}</td><td class="num">${r.dryRun ? `(${r.rows.wouldChange ?? 0})` : r.rows.changed}</td><td class="num">${r.rows.held}</td><td class="num">${r.batches}</td><td class="num">${ms(r.maxBatchMs)}</td><td class="num">${ms(r.durationMs)}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>No run yet.</p>";
  return `${policyHtml}${runHtml}<p><a href="/admin/queues/queue/retention">The retention queue in the queue dashboard</a></p>`;
}

/** Deliveries: export mails and notices, failures first. */
export function deliveriesBody(rows: DeliveryListRow[], counts: Record<string, number>): string {
  const cards = ["failed", "pending", "sending", "sent"].map((s) => `<li data-count="${s}"><span class="n">${counts[s] ?? 0}</span>${esc(s)}</li>`).join("");
  const table = rows.length
    ? `<table><caption>Mail to people: export links and notices, failures first</caption><thead><tr><th scope="col">Kind</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">SMTP</th><th scope="col">Created</th><th scope="col">Last change</th><th scope="col">Sent</th></tr></thead><tbody>${rows
        .map(
          (d) =>
            `<tr><td>${esc(d.kind)}</td><td>${d.request_id ? `<a href="${CONSOLE_PATH}/requests/${esc(d.request_id)}">${esc(d.request_id.slice(0, 8))}</a>` : "—"}</td><td><span class="${d.status === "failed" ? "bad" : ""}">${esc(d.status)}</span>${d.error_code ? ` ${esc(d.error_code)}` : ""}</td><td class="num">${d.attempts}</td><td>${d.smtp_code ?? "—"}</td><td>${instant(d.created_at.toISOString())}</td><td>${instant(d.updated_at.toISOString())}</td><td>${instant(d.sent_at ? d.sent_at.toISOString() : null)}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>No mail was sent yet.</p>";
  return `<ul class="cards" aria-label="Deliveries by status">${cards}</ul>${table}<p class="muted">Breach notices are counted per incident on the incidents page.</p>`;
}

/** Legal holds, newest first, with the requests waiting for each. */
export function holdsBody(holds: Array<HoldView & { waiting: number }>, nextCursor: string | null): string {
  if (holds.length === 0) return "<p>No legal hold is recorded.</p>";
  return `<table><caption>Legal holds (Art. 17(3)(e))</caption><thead><tr><th scope="col">Hold</th><th scope="col">Ground</th><th scope="col">In force</th><th scope="col">Until</th><th scope="col">Placed</th><th scope="col">Released</th><th scope="col" class="num">Requests waiting</th></tr></thead><tbody>${holds
    .map(
      (h) =>
        `<tr><td><code>${esc(h.id.slice(0, 8))}</code></td><td>${esc(h.ground)}</td><td>${h.active ? "yes" : "no"}</td><td>${day(h.until)}</td><td>${instant(h.createdAt)}</td><td>${instant(h.releasedAt)}</td><td class="num">${h.waiting}</td></tr>`,
    )
    .join(
      "",
    )}</tbody></table>${nextCursor ? `<nav class="pager" aria-label="Pages"><a href="${CONSOLE_PATH}/holds?cursor=${encodeURIComponent(nextCursor)}" rel="next">Next page</a></nav>` : ""}`;
}

/** The audit chain's state, as `lethe audit verify` reports it. */
export function auditBody(report: ChainReport, at: Date): string {
  const status =
    report.brokenAt === null
      ? `<p class="good" data-field="chain">The chain is intact.</p>`
      : `<p class="bad" data-field="chain">The chain is broken at row ${esc(report.brokenAt)}.</p>`;
  return `${status}<dl class="facts"><dt>Sealed rows</dt><dd>${report.sealed}</dd><dt>Not sealed yet</dt><dd>${report.unsealed}</dd><dt>Verified</dt><dd>${instant(at.toISOString())}</dd></dl>
<p class="muted">The audit log is append-only and hash-chained; it names people only by keyed hash. <code>lethe audit verify</code> checks the same from a terminal.</p>`;
}
