import { BAND_LABELS, bandOf, daysLeft } from "../../../console/deadline";
import type { AuditRow } from "../../../db/tables/audit-log";
import type { RequestView } from "../../../requests/view";
import type { RecipientView } from "../../../rights/recipient-list";
import { CONSOLE_PATH, csrfField, day, esc, instant, jobLink } from "../layout";

/** One entry of a request's timeline: from the audit log, its steps, or its jobs. */
export interface TimelineEntry {
  at: string | null;
  source: "audit" | "step" | "job";
  what: string;
  /** Extra words (codes, counts, attempts); never personal data. */
  detail: string;
  job?: { queue: string; id: string };
}

/** What the page may offer the key in use. */
export interface RequestActions {
  canRetry: boolean;
  canExtend: boolean;
  csrf: string | null;
}

/** Audit detail keys shown in the timeline (codes, counts, names of stores; the rest stays in the log). */
const SHOWN_DETAIL = ["code", "store", "type", "months", "dryRun", "outcome", "recipient", "action", "status"];

/** Timeline entries from the request's audit rows. */
export function auditEntries(rows: AuditRow[]): TimelineEntry[] {
  return rows.map((a) => ({
    at: a.at,
    source: "audit",
    what: a.event,
    detail: [
      a.actor ? `by ${a.actor}` : "",
      ...SHOWN_DETAIL.filter((k) => a.detail[k] !== undefined && a.detail[k] !== null && typeof a.detail[k] !== "object").map(
        (k) => `${k}: ${String(a.detail[k])}`,
      ),
    ]
      .filter(Boolean)
      .join(", "),
  }));
}

/** The request's page: facts and deadline, the actions the key may take, the timeline, recipients. */
export function requestBody(v: RequestView, timeline: TimelineEntry[], recipients: RecipientView[] | null, actions: RequestActions, now: Date): string {
  const due = new Date(v.dueAt);
  const band = bandOf(v.status, due, now);
  const left = band === "closed" ? null : daysLeft(due, now);
  const ext = v.extension
    ? `<dt>Extension</dt><dd>by ${v.extension.months} month${v.extension.months > 1 ? "s" : ""} (Art. 12(3)); due date before: ${day(v.extension.originalDueAt)}; reason given</dd>`
    : "";
  const facts = `<dl class="facts">
<dt>Request</dt><dd><code>${esc(v.id)}</code></dd>
<dt>Type</dt><dd>${esc(v.type)}${v.dryRun ? " (preview)" : ""}</dd>
<dt>Status</dt><dd data-field="status">${esc(v.status.replace(/_/g, " "))}${v.error ? ` <span class="bad">${esc(v.error.code)}</span>` : ""}</dd>
<dt>Received</dt><dd>${instant(v.receivedAt)}</dd>
<dt>Due date</dt><dd data-field="due">${day(v.dueAt)} <span class="muted">(one calendar month from receipt${v.extension ? ", extended" : ""})</span></dd>
${ext}
<dt>Days left</dt><dd data-field="days-left">${left === null ? "answered" : `<span class="band-${band}">${left}</span> (${esc(BAND_LABELS[band])})`}</dd>
<dt>Completed</dt><dd>${instant(v.completedAt)}</dd>
${v.hold ? `<dt>Held by</dt><dd>legal hold ${esc(v.hold.id.slice(0, 8))}: ${esc(v.hold.ground)}${v.hold.until ? `, until ${day(v.hold.until)}` : ""}</dd>` : ""}
</dl>`;

  const forms: string[] = [];
  if (v.status === "failed") {
    forms.push(
      actions.canRetry
        ? `<section aria-labelledby="retry-h"><h3 id="retry-h">Retry the failed stores</h3>
<form method="post" action="${CONSOLE_PATH}/requests/${esc(v.id)}/retry" class="stack">${csrfField(actions.csrf)}
<p>Finished stores are not redone; failed ones start over.</p>
<div><button type="submit">Retry…</button></div></form></section>`
        : `<section><h3>Retry</h3><p class="muted">Retrying needs a key with the <code>operate</code> scope.</p></section>`,
    );
  }
  if (band !== "closed" && !v.extension && left !== null && left > 0) {
    forms.push(
      actions.canExtend
        ? `<section aria-labelledby="extend-h"><h3 id="extend-h">Extend the deadline (Art. 12(3))</h3>
<form method="post" action="${CONSOLE_PATH}/requests/${esc(v.id)}/extend" class="stack">${csrfField(actions.csrf)}
<div><label for="months">Further months</label><select id="months" name="months" required><option value="1">1 month</option><option value="2">2 months</option></select></div>
<div><label for="reason">Reason told to the person</label><textarea id="reason" name="reason" rows="3" required maxlength="2000"></textarea></div>
<div><button type="submit">Extend…</button></div></form></section>`
        : `<section><h3>Extend</h3><p class="muted">Extending needs a key with the <code>dpo</code> scope.</p></section>`,
    );
  }
  const actionHtml = forms.length ? `<h2>Actions</h2><div class="actions">${forms.join("")}</div>` : "";

  const stepRows = v.steps.length
    ? `<h2>Stores and tables</h2><table><caption>What the request did, per table</caption><thead><tr><th scope="col">Store</th><th scope="col">Table</th><th scope="col">Action</th><th scope="col" class="num">Rows</th></tr></thead><tbody>${v.steps
        .map(
          (s) =>
            `<tr><td>${esc(s.store)}</td><td>${esc(s.table)}</td><td>${esc(s.action)}${s.ground ? ` <span class="muted">(${esc(s.ground)})</span>` : ""}</td><td class="num">${s.rows}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : "";

  const sorted = [...timeline].sort((a, b) => (a.at ?? "9999").localeCompare(b.at ?? "9999"));
  const timelineHtml = `<h2>Timeline</h2><table><caption>Audit log, steps and jobs, oldest first</caption><thead><tr><th scope="col">When</th><th scope="col">Source</th><th scope="col">What</th><th scope="col">Detail</th></tr></thead><tbody>${sorted
    .map(
      (t) =>
        `<tr><td>${instant(t.at)}</td><td>${esc(t.source)}</td><td>${esc(t.what)}</td><td>${esc(t.detail)}${t.job ? ` (${jobLink(t.job.queue, t.job.id)})` : ""}</td></tr>`,
    )
    .join("")}</tbody></table>`;

  const recipientHtml =
    recipients === null
      ? ""
      : `<h2>Recipients (Art. 19)</h2>${
          recipients.length
            ? `<table><caption>Who was told of this request</caption><thead><tr><th scope="col">Recipient</th><th scope="col">Action</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Ended</th></tr></thead><tbody>${recipients
                .map(
                  (r) =>
                    `<tr><td>${esc(r.recipient)}</td><td>${esc(r.action)}</td><td>${esc(r.channel)}</td><td>${esc(r.status)}${r.errorCode ? ` <span class="bad">${esc(r.errorCode)}</span>` : ""}${r.reason ? ` <span class="muted">(${esc(r.reason)})</span>` : ""}</td><td class="num">${r.attempts}</td><td>${instant(r.endedAt)}</td></tr>`,
                )
                .join("")}</tbody></table>`
            : "<p>No recipient is told of this request.</p>"
        }`;
  return `${facts}${actionHtml}${timelineHtml}${stepRows}${recipientHtml}<p><a href="${CONSOLE_PATH}/requests">Back to the requests</a></p>`;
}

/** The confirmation page of an action: what will happen, and a button that does it. */
export function confirmBody(p: { title: string; what: string; action: string; fields: Record<string, string>; csrf: string | null; back: string }): string {
  const hidden = Object.entries(p.fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join("");
  return `<p>${esc(p.what)}</p>
<form method="post" action="${esc(p.action)}" class="stack" aria-label="${esc(p.title)}">${csrfField(p.csrf)}${hidden}<input type="hidden" name="confirm" value="yes">
<div><button type="submit">Confirm: ${esc(p.title.toLowerCase())}</button></div></form>
<p><a href="${esc(p.back)}">Cancel</a></p>`;
}
