import { escapeHtml } from "../html-escape";
import { authorityDeadline } from "./clock";
import { htmlPage, paragraphs } from "./html-page";
import { isToFollow, toFollowPaths, type ContentReport, type Report } from "./report";
import { diffReports } from "./report-diff";

/** A report version as the JSON document Lethe stores and serves (two-space indented). */
export function reportToJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const KIND_TITLES: Record<Report["kind"], string> = { initial: "Initial report", follow_up: "Follow-up report", withdrawal: "Withdrawal" };

/** A field's value as escaped HTML: "to follow" markers, lists, objects and nulls made readable. */
function display(v: unknown): string {
  if (isToFollow(v)) return `<span class="todo">To follow${v.expectedBy ? ` (expected by ${escapeHtml(v.expectedBy)})` : ""}</span>`;
  if (v === undefined) return "<em>(absent)</em>";
  if (v === null) return "—";
  if (Array.isArray(v)) return v.map((x) => display(x)).join(", ");
  if (typeof v === "object") {
    return Object.entries(v)
      .map(([k, x]) => `${escapeHtml(k)}: ${display(x)}`)
      .join("<br>");
  }
  if (typeof v === "string") return escapeHtml(v).replace(/\n/g, "<br>");
  return escapeHtml(typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v));
}

function occurred(v: ContentReport["nature"]["occurred"]): string {
  if (isToFollow(v)) return display(v);
  return `${escapeHtml(v.from)} – ${v.until === null ? "ongoing" : escapeHtml(v.until)}`;
}

const rows = (pairs: [string, string][]): string =>
  `<table>\n${pairs.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${v}</td></tr>`).join("\n")}\n</table>`;

function contentSections(r: ContentReport): string[] {
  const out = [
    "<h2>(a) Nature of the breach</h2>",
    rows([
      ["Description", display(r.nature.description)],
      ["Kind", display(r.nature.kinds)],
      ["When it happened", occurred(r.nature.occurred)],
      ["Categories of personal data", display(r.nature.dataCategories)],
      ["Categories of data subjects", display(r.nature.subjectCategories)],
      ["Approximate number of data subjects", display(r.nature.approxSubjects)],
      ["Approximate number of records", display(r.nature.approxRecords)],
    ]),
    "<h2>(b) Data protection officer or contact point</h2>",
    rows([["Contact", display(r.contact)]]),
    "<h2>(c) Likely consequences</h2>",
    rows([["Consequences", display(r.consequences)]]),
    "<h2>(d) Measures taken or proposed</h2>",
    rows([
      ["Taken", display(r.measures.taken)],
      ["Proposed", display(r.measures.proposed)],
    ]),
  ];
  if (r.delayReasons) out.push("<h2>Reasons for the delay</h2>", paragraphs(r.delayReasons));
  const gaps = toFollowPaths(r);
  if (gaps.length > 0) out.push("<h2>Information to follow</h2>", `<ul>\n${gaps.map((p) => `<li>${escapeHtml(p)}</li>`).join("\n")}\n</ul>`);
  return out;
}

function changesSection(previous: Report, report: Report): string[] {
  const changes = diffReports(previous, report);
  const head = `<h2>Changes since version ${previous.version}</h2>`;
  if (changes.length === 0) return [head, "<p>No field changed.</p>"];
  const body = changes.map((c) => `<tr><td>${escapeHtml(c.path)}</td><td>${display(c.before)}</td><td>${display(c.after)}</td></tr>`).join("\n");
  return [head, `<table>\n<tr><th>Field</th><th>Before</th><th>After</th></tr>\n${body}\n</table>`];
}

/**
 * A readable, self-contained HTML page of one report version (English). With `previous` (the
 * version before it) the page also lists what changed since. Every value is escaped.
 */
export function renderReportHtml(report: Report, previous: Report | null = null): string {
  const title = `Personal data breach — ${KIND_TITLES[report.kind]}, version ${report.version}`;
  const status = report.kind === "withdrawal" ? "withdrawn" : report.final ? "complete" : "in phases (information to follow)";
  const parts = [
    `<h1>${escapeHtml(title)}</h1>`,
    rows([
      ["Incident", escapeHtml(report.incidentId)],
      ["Submitted", escapeHtml(report.submittedAt)],
      ["Detected", escapeHtml(report.detectedAt)],
      ["Controller became aware", escapeHtml(report.awareAt)],
      ["72-hour deadline", escapeHtml(authorityDeadline(new Date(report.awareAt)).toISOString())],
      ["Status of this report", escapeHtml(status)],
    ]),
  ];
  if (previous) parts.push(...changesSection(previous, report));
  if (report.kind === "withdrawal") parts.push("<h2>Reason for the withdrawal</h2>", paragraphs(report.reason));
  else parts.push(...contentSections(report));
  return htmlPage("en", title, parts.join("\n"));
}
