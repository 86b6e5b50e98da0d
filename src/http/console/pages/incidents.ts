import type { DecisionRow } from "../../../db/tables/incident-decision";
import type { ReportRow } from "../../../db/tables/incident-report";
import type { IncidentView } from "../../../incidents/incident-view";
import { CONSOLE_PATH, esc, instant } from "../layout";

/** A countdown in words: `41 h 12 min left`, or `overdue by 3 h 5 min`. */
export function countdown(secondsLeft: number): string {
  const abs = Math.abs(secondsLeft);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const text = `${h} h ${m} min`;
  return secondsLeft >= 0 ? `${text} left` : `overdue by ${text}`;
}

function clockCell(v: IncidentView): string {
  if (!v.clock.running) {
    return v.authorityNotifiedAt
      ? `authority notified ${instant(v.authorityNotifiedAt)}${v.late ? ' <span class="bad">(late)</span>' : ""}`
      : `<span class="muted">stopped</span>`;
  }
  const cls = v.clock.secondsLeft < 0 ? "bad" : v.clock.secondsLeft < 24 * 3600 ? "warn" : "good";
  return `<span class="${cls}" data-field="countdown">${esc(countdown(v.clock.secondsLeft))}</span><br><span class="muted">deadline ${instant(v.clock.deadline)}</span>`;
}

function noticeCell(v: IncidentView): string {
  const n = v.notices;
  if (n.total === 0) return `<span class="muted">none</span>`;
  return `${n.sent} sent, ${n.pending} pending, <span class="${n.undeliverable > 0 ? "bad" : ""}">${n.undeliverable} undeliverable</span> of ${n.total}`;
}

/** The incidents page: open incidents first with their 72-hour clocks, then the rest. */
export function incidentsBody(views: IncidentView[]): string {
  if (views.length === 0) return "<p>No incident is recorded.</p>";
  const open = views.filter((v) => v.final === null);
  const ended = views.filter((v) => v.final !== null);
  const table = (caption: string, list: IncidentView[]): string =>
    list.length === 0
      ? ""
      : `<table><caption>${esc(caption)}</caption><thead><tr><th scope="col">Reference</th><th scope="col">Title</th><th scope="col">Status</th><th scope="col">Aware</th><th scope="col">72-hour clock</th><th scope="col">Severity</th><th scope="col">Reports</th><th scope="col">Notices</th></tr></thead><tbody>${list
          .map(
            (v) =>
              `<tr data-incident="${esc(v.id)}"><td><a href="${CONSOLE_PATH}/incidents/${esc(v.id)}">${esc(v.reference)}</a></td><td>${esc(v.title)}</td><td>${esc(v.status.replace(/_/g, " "))}</td><td>${instant(v.awareAt)}</td><td>${clockCell(v)}</td><td>${v.severity ? esc(v.severity.band) : '<span class="muted">not assessed</span>'}</td><td class="num">${v.reports.versions}</td><td>${noticeCell(v)}</td></tr>`,
          )
          .join("")}</tbody></table>`;
  return `<ul class="cards" aria-label="Incidents"><li data-count="open"><span class="n">${open.length}</span>Open incidents</li><li data-count="clock-under-24h"><span class="n">${
    open.filter((v) => v.clock.running && v.clock.secondsLeft < 24 * 3600).length
  }</span>Clock under 24 h</li></ul>${table("Open incidents", open)}${table("Closed incidents", ended)}`;
}

/** One incident: its clock, facts, decision record, report versions and notice progress. */
export function incidentBody(v: IncidentView, reports: ReportRow[], decisions: DecisionRow[]): string {
  const clock = `<h2>Authority deadline (Art. 33(1))</h2><p class="countdown">${clockCell(v)}</p>`;
  const facts = `<dl class="facts">
<dt>Reference</dt><dd>${esc(v.reference)}</dd>
<dt>Status</dt><dd>${esc(v.status.replace(/_/g, " "))}</dd>
<dt>Kinds</dt><dd>${esc(v.kinds.join(", "))}</dd>
<dt>Detected</dt><dd>${instant(v.detectedAt)}</dd>
<dt>Aware</dt><dd>${instant(v.awareAt)}</dd>
<dt>Stores</dt><dd>${esc(v.stores.join(", ") || "—")}</dd>
<dt>Affected</dt><dd>${v.affected ? `${v.affected.people} people, ${v.affected.records} records` : '<span class="muted">not counted yet</span>'}</dd>
<dt>Severity</dt><dd>${v.severity ? `${esc(v.severity.band)} (score ${v.severity.score}, ${esc(v.severity.method)})` : '<span class="muted">not assessed</span>'}</dd>
</dl>`;
  const decisionHtml = decisions.length
    ? `<table><caption>Decision record</caption><thead><tr><th scope="col">Decided</th><th scope="col">By</th><th scope="col">Authority</th><th scope="col">People</th><th scope="col">Public notice</th><th scope="col">Exemption</th><th scope="col">Deviations</th><th scope="col">Rationale</th></tr></thead><tbody>${decisions
        .map(
          (d) =>
            `<tr><td>${instant(d.created_at.toISOString())}</td><td>${esc(d.decided_by)}</td><td>${d.record.notifyAuthority ? "notify" : "no"}</td><td>${d.record.notifySubjects ? "notify" : "no"}</td><td>${d.record.publicNotice ? "yes" : "no"}</td><td>${esc(d.record.subjectExemption ?? "—")}</td><td>${esc(d.record.deviations.map((x) => `${x.field} ${x.direction}`).join(", ") || "none")}</td><td>${esc(d.record.rationale)}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>No decision is recorded yet.</p>";
  const reportHtml = reports.length
    ? `<table><caption>Report versions (Art. 33(4): in phases)</caption><thead><tr><th scope="col" class="num">Version</th><th scope="col">Kind</th><th scope="col">Final</th><th scope="col">Submitted</th><th scope="col">By</th><th scope="col">Document</th></tr></thead><tbody>${reports
        .map(
          (r) =>
            `<tr><td class="num">${r.version}</td><td>${esc(r.kind)}</td><td>${r.final ? "yes" : "no"}</td><td>${instant(r.submitted_at.toISOString())}</td><td>${esc(r.created_by)}</td><td><a href="${CONSOLE_PATH}/incidents/${esc(v.id)}/reports/${r.version}">view</a></td></tr>`,
        )
        .join("")}</tbody></table>`
    : "<p>No report was submitted yet.</p>";
  const n = v.notices;
  const notices = `<ul class="cards" aria-label="Notices to the people"><li data-count="sent"><span class="n">${n.sent}</span>sent</li><li data-count="pending"><span class="n">${n.pending}</span>pending</li><li data-count="undeliverable"><span class="n">${n.undeliverable}</span>undeliverable</li><li data-count="total"><span class="n">${n.total}</span>in all</li></ul>${
    n.state === "paused" ? `<p class="warn">Paused${n.pauseReason ? `: ${esc(n.pauseReason)}` : ""}</p>` : ""
  }${n.publicNoticeAdvised ? `<p class="warn">A public notice is advised (undeliverable share over the threshold).</p>` : ""}`;
  return `${clock}${facts}<h2>Decision</h2>${decisionHtml}<h2>Reports</h2>${reportHtml}<h2>Notices (Art. 34)</h2>${notices}<p><a href="${CONSOLE_PATH}/incidents">Back to the incidents</a></p>`;
}
