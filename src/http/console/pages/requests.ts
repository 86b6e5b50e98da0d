import { BAND_LABELS, BANDS } from "../../../console/deadline";
import type { RequestListItem, RequestPage, RequestSummary } from "../../../console/request-list";
import { LIST_STATUSES, LIST_TYPES } from "../../routes/lists";
import { CONSOLE_PATH, day, esc, instant, jobLink } from "../layout";

/** The filters of the requests page, as the query string carries them. */
export interface RequestFilters {
  type?: string;
  status?: string;
  band?: string;
  state: string;
  dryRun: boolean;
  cursor?: string;
}

function select(
  name: string,
  label: string,
  options: readonly string[],
  current: string | undefined,
  any: string | null,
  labels: Record<string, string> = {},
): string {
  const opts = [
    ...(any === null ? [] : [`<option value=""${current ? "" : " selected"}>${esc(any)}</option>`]),
    ...options.map((o) => `<option value="${esc(o)}"${current === o ? " selected" : ""}>${esc(labels[o] ?? o.replace(/_/g, " "))}</option>`),
  ];
  return `<div><label for="f-${name}">${esc(label)}</label><select id="f-${name}" name="${name}">${opts.join("")}</select></div>`;
}

function statusText(r: RequestListItem): string {
  const parts = [r.status.replace(/_/g, " ")];
  if (r.notFound) parts.push("not found");
  if (r.extension) parts.push("extended");
  return esc(parts.join(", "));
}

function dueCell(r: RequestListItem): string {
  const ext = r.extension
    ? `<br><span class="muted">extended by ${r.extension.months} month${r.extension.months > 1 ? "s" : ""} (was ${esc(r.extension.originalDueAt.slice(0, 10))})</span>`
    : "";
  return `${day(r.dueAt)}${ext}`;
}

function daysCell(r: RequestListItem): string {
  if (r.daysLeft === null) return `<span class="muted">answered</span>`;
  return `<span class="band-${r.band}">${r.daysLeft}</span>`;
}

function storesCell(r: RequestListItem): string {
  if (r.stores.total === 0) return `<span class="muted">—</span>`;
  const failing = r.stores.failing.map(
    (f) =>
      `<br><span class="bad">${esc(f.store)}</span>: ${f.attempts} attempt${f.attempts === 1 ? "" : "s"}${f.code ? `, ${esc(f.code)}` : ""}${
        f.nextRetryAt ? `, next retry ${instant(f.nextRetryAt)}` : ""
      }${f.job ? ` (${jobLink(f.job.queue, f.job.id)})` : ""}`,
  );
  return `${r.stores.done} of ${r.stores.total} done${failing.join("")}`;
}

/** The query string of the filters (and a cursor). */
export function filterQuery(f: RequestFilters, cursor?: string): string {
  const q = new URLSearchParams();
  if (f.type) q.set("type", f.type);
  if (f.status) q.set("status", f.status);
  if (f.band) q.set("band", f.band);
  q.set("state", f.state);
  if (f.dryRun) q.set("dryRun", "true");
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

/** The requests page: headline counts, filters, the page of requests by days left, paging. */
export function requestsBody(f: RequestFilters, page: RequestPage, summary: RequestSummary): string {
  const cards = [
    ["open", "Open requests", summary.open],
    ["overdue", "Overdue", summary.byBand.overdue],
    ["due_soon", "Due in 7 days or less", summary.byBand.due_soon],
    ["on_track", "On track", summary.byBand.on_track],
    ["held", "Held", summary.byStatus.held ?? 0],
    ["failed", "Failed", summary.byStatus.failed ?? 0],
  ] as const;
  const cardHtml = `<ul class="cards" aria-label="Open ${f.dryRun ? "previews" : "requests"}">${cards
    .map(([k, label, n]) => `<li data-count="${k}"><span class="n">${n}</span>${esc(label)}</li>`)
    .join("")}</ul>`;
  const filters = `<form class="filters" method="get" action="${CONSOLE_PATH}/requests" aria-label="Filter requests">
${select("type", "Type", LIST_TYPES, f.type, "any type")}
${select("status", "Status", LIST_STATUSES, f.status, "any status")}
${select("band", "Deadline", BANDS, f.band, "any", BAND_LABELS)}
${select("state", "Show", ["open", "closed", "all"], f.state, null, { open: "open (not answered)", closed: "answered", all: "all" })}
<div><label for="f-dryRun">Requests</label><select id="f-dryRun" name="dryRun"><option value="false"${f.dryRun ? "" : " selected"}>real requests</option><option value="true"${f.dryRun ? " selected" : ""}>previews (dry runs)</option></select></div>
<div><button type="submit">Apply filters</button></div>
</form>`;
  const rows = page.requests
    .map(
      (r) => `<tr data-request="${esc(r.id)}">
<td><a href="${CONSOLE_PATH}/requests/${esc(r.id)}">${esc(r.id.slice(0, 8))}</a></td>
<td>${esc(r.type)}</td>
<td>${day(r.receivedAt)}</td>
<td>${dueCell(r)}</td>
<td class="num">${daysCell(r)}</td>
<td><span class="band-${r.band}">${esc(BAND_LABELS[r.band])}</span></td>
<td>${statusText(r)}${r.error ? `<br><span class="bad">${esc(r.error.code)}</span>` : ""}</td>
<td>${storesCell(r)}</td>
</tr>`,
    )
    .join("\n");
  const table = page.requests.length
    ? `<table>
<caption>${page.total} request${page.total === 1 ? "" : "s"} match, sorted by days left</caption>
<thead><tr><th scope="col">Request</th><th scope="col">Type</th><th scope="col">Received</th><th scope="col">Due (calendar month)</th><th scope="col" class="num">Days left</th><th scope="col">Deadline</th><th scope="col">Status</th><th scope="col">Stores</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : `<p>No request matches these filters.</p>`;
  const pager = `<nav class="pager" aria-label="Pages">${f.cursor ? `<a href="${CONSOLE_PATH}/requests?${esc(filterQuery(f))}">First page</a>` : ""}${
    page.nextCursor ? `<a href="${CONSOLE_PATH}/requests?${esc(filterQuery(f, page.nextCursor))}" rel="next">Next page</a>` : ""
  }</nav>`;
  return `${cardHtml}${filters}${table}${pager}`;
}
