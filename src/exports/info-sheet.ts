import type { DataMap } from "../datamap/schema";
import { escapeHtml } from "../html-escape";
import { describeAge } from "../datamap/retention-policy";
import type { ManifestEntry } from "../stores/export-sink";
import type { ExportRestriction } from "./manifest";
import { kindOf } from "../stores/registry";
import type { InfoSheetRow } from "../stores/store-kind";

/**
 * The human-readable info sheet (`index.html`) of an export: what Art. 15(1)–(2) GDPR tells the
 * subject, generated from the data map so it is never written by hand twice. Self-contained (no
 * scripts, no external resources), links point at the entries next to it in the zip.
 */

/** What the sheet is generated from. */
export interface InfoSheetInput {
  dataMap: DataMap;
  requestId: string;
  generatedAt: Date;
  /** The data entries already in the archive. */
  entries: ManifestEntry[];
  /** Restrictions of processing in force for the subject (Art. 18): the sheet marks all their data as restricted. */
  restrictions?: ExportRestriction[];
}

const CATEGORY_LABELS: Record<string, string> = {
  identity: "Identity (e.g. names)",
  contact: "Contact details (e.g. email, phone)",
  location: "Location (e.g. postal address)",
  financial: "Financial (e.g. invoices, payments)",
  online: "Online identifiers (e.g. IP addresses, device ids)",
  demographic: "Demographic (e.g. date of birth)",
  content: "Content you created (e.g. messages, reviews)",
  health: "Health data (a special category, Art. 9 GDPR)",
  other: "Other",
};

const UNITS: Array<[string, string]> = [
  ["Y", "year"],
  ["M", "month"],
  ["W", "week"],
  ["D", "day"],
];

/** `P10Y` → "10 years", `P1Y6M` → "1 year, 6 months"; anything else is returned as written. */
export function describeDuration(iso: string): string {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/.exec(iso);
  if (!m || iso === "P") return iso;
  const parts: string[] = [];
  UNITS.forEach(([, unit], i) => {
    const n = m[i + 1];
    if (n !== undefined) parts.push(`${Number(n)} ${unit}${Number(n) === 1 ? "" : "s"}`);
  });
  return parts.join(", ");
}

const esc = escapeHtml;
const list = (items: string[]): string => (items.length === 0 ? "" : `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`);

interface TableRow {
  /** HTML of the "Where" cell. */
  where: string;
  purpose: string | undefined;
  categories: Map<string, string[]>;
  retention: string;
  rows: number;
  files: ManifestEntry[];
}

/** What the sheet says of data kept without a declared period. */
const DEFAULT_RETENTION = "as long as the purpose requires; erased when you ask us to, unless the law requires us to keep it";

/** Each store's description by its kind (`StoreKind.describe`), as table rows and processors. */
function describeStores(input: InfoSheetInput): { tables: TableRow[]; processors: Array<{ store: string; purpose: string | undefined }> } {
  const tables: TableRow[] = [];
  const processors: Array<{ store: string; purpose: string | undefined }> = [];
  for (const [store, spec] of Object.entries(input.dataMap.stores)) {
    const described = kindOf(spec).describe(
      store,
      spec,
      input.entries.filter((e) => e.store === store),
    );
    if (described.processor) processors.push({ store, purpose: described.processor.purpose });
    for (const row of described.rows) tables.push(tableRow(input, store, row));
  }
  return { tables, processors };
}

/** One row of the data table: where, and how long (declared period, retention policies, legal ground). */
function tableRow(input: InfoSheetInput, store: string, row: InfoSheetRow): TableRow {
  const table = row.table;
  const policies =
    table === undefined
      ? []
      : input.dataMap.retention
          .filter((p) => p.store === store && p.table === table)
          .map(
            (p) =>
              `${p.action === "delete" ? "deleted" : "anonymized"} ${
                p.age.olderThan
                  ? `${describeDuration(p.age.olderThan)} after ${describeAge(p.age).replace(/_/g, " ")}`
                  : `when ${describeAge(p.age).replace(/_/g, " ")} is before ${p.age.before}`
              }`,
          );
  const retention = row.period
    ? `${describeDuration(row.period)}${row.keptFor ? ` (${row.keptFor})` : ""}`
    : policies.length > 0
      ? policies.join("; ")
      : row.keptFor
        ? `kept as required by: ${row.keptFor}`
        : DEFAULT_RETENTION;
  return {
    where: table === undefined ? `<code>${esc(store)}</code> (${esc(row.label ?? "")})` : `<code>${esc(store)}.${esc(table)}</code>`,
    purpose: row.purpose,
    categories: row.categories,
    retention,
    rows: row.rows,
    files: row.files,
  };
}

/** Renders `index.html`. Every value from the data map is escaped. */
export function renderInfoSheet(input: InfoSheetInput): string {
  const map = input.dataMap;
  const { tables, processors } = describeStores(input);
  const controller = map.controller;
  // Stored files are mentioned only when the map has a files store (issue 10).
  const hasFilesStore = Object.values(map.stores).some((spec) => spec.kind === "files");
  const purposes = [
    ...map.purposes.map(
      (p) =>
        `<strong>${esc(p.name)}</strong>${p.description ? `: ${esc(p.description)}` : ""}${p.legalBasis ? ` <em>(legal basis: ${esc(p.legalBasis)})</em>` : ""}`,
    ),
    ...[...new Set(tables.map((t) => t.purpose).filter((p): p is string => !!p))].filter((p) => !map.purposes.some((d) => d.name === p)).map((p) => esc(p)),
  ];
  const allCategories = new Set(tables.flatMap((t) => [...t.categories.keys()]));
  // Processors receive data too; their data is not in the archive (`processors/<store>.json` says why).
  const notices = new Map(input.entries.filter((e) => e.path.startsWith("processors/") && e.store !== undefined).map((e) => [e.store!, e.path]));
  const recipients = map.recipients.map(
    (r) =>
      `<tr><td>${esc(r.name)}</td><td>${esc(r.purpose)}</td><td>${r.thirdCountry ? `<strong class="flag">Yes: ${esc(r.thirdCountry)}</strong>${r.safeguards ? `<br>safeguards: ${esc(r.safeguards)}` : ""}` : "No"}</td></tr>`,
  );
  for (const p of processors) {
    const notice = notices.get(p.store);
    recipients.push(
      `<tr><td>${esc(p.store)} <span class="cols">(processor)</span></td><td>${p.purpose ? esc(p.purpose) : "processes your data on our behalf"}<br><em>Its data is not in this archive${notice ? ` (<a href="${esc(notice)}">${esc(notice)}</a>)` : ""}; contact us to receive it.</em></td><td>—</td></tr>`,
    );
  }
  const dataRows = tables.map((t) => {
    const cats = [...t.categories.entries()].map(([c, cols]) => `${esc(CATEGORY_LABELS[c] ?? c)} <span class="cols">(${cols.map(esc).join(", ")})</span>`);
    const links = t.files.map((f) => `<a href="${esc(f.path)}">${esc(f.path.slice(f.path.lastIndexOf(".") + 1).toUpperCase())}</a>`).join(" · ");
    return `<tr><td>${t.where}</td><td>${t.rows}</td><td>${t.purpose ? esc(t.purpose) : "—"}</td><td>${cats.length ? cats.join("<br>") : "—"}</td><td>${esc(t.retention)}</td><td>${links}</td></tr>`;
  });
  const linked = new Set(tables.flatMap((t) => t.files.map((f) => f.path)));
  const otherEntries = input.entries
    .filter((e) => e.table === undefined && e.store !== undefined && !linked.has(e.path) && !e.path.startsWith("processors/"))
    .map((e) => `<li><a href="${esc(e.path)}">${esc(e.path)}</a></li>`);
  const authority = controller?.supervisoryAuthority ? ` The competent authority is: ${esc(controller.supervisoryAuthority)}.` : "";

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your personal data: copy and information</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.4rem;border-bottom:1px solid #eee}
.cols{color:#666;font-size:.85em}.flag{color:#a40}.meta{color:#555}code{font-size:.9em}
</style>
</head>
<body>
<h1>Your personal data: copy and information</h1>
<p>This archive answers your request for access to your personal data (Art. 15 GDPR). It contains a copy of the data we hold about you, in JSON and CSV files you can open or move to another service (Art. 20 GDPR)${hasFilesStore ? ", files we keep about you as they are stored," : ""} and the information below.</p>
<p class="meta">Generated ${esc(input.generatedAt.toISOString())} · request <code>${esc(input.requestId)}</code> · checksums of every file are in <a href="manifest.json">manifest.json</a>.</p>

${restrictionNotice(input.restrictions ?? [])}
<h2>Who is responsible</h2>
${
  controller
    ? `<p><strong>${esc(controller.name)}</strong><br>Contact: ${esc(controller.contact)}${controller.dpo ? `<br>Data protection officer: ${esc(controller.dpo)}` : ""}</p>`
    : "<p>Please use the contact details of the service that sent you this archive.</p>"
}

<h2>The data we hold about you</h2>
<table>
<thead><tr><th>Where</th><th>Records</th><th>Purpose</th><th>Categories of data</th><th>How long we keep it</th><th>Files</th></tr></thead>
<tbody>
${dataRows.join("\n")}
</tbody>
</table>
${otherEntries.length ? `<p>Other files:</p><ul>${otherEntries.join("")}</ul>` : ""}

<h2>Why we process it (purposes)</h2>
${purposes.length ? list(purposes) : "<p>No purposes are declared.</p>"}

<h2>Categories of personal data</h2>
${allCategories.size ? list([...allCategories].map((c) => esc(CATEGORY_LABELS[c] ?? c))) : "<p>None declared.</p>"}

<h2>Who receives it (recipients)</h2>
${
  recipients.length
    ? `<table><thead><tr><th>Recipient</th><th>Purpose</th><th>Outside the EU/EEA?</th></tr></thead><tbody>${recipients.join("")}</tbody></table>`
    : "<p>We do not disclose your data to other recipients.</p>"
}

<h2>How long we keep it</h2>
<p>The period for each kind of data is shown in the table above.</p>

<h2>Where the data comes from</h2>
${map.sources.length ? `<p>Data not collected from you comes from:</p>${list(map.sources.map(esc))}` : "<p>We collected this data from you.</p>"}

<h2>Automated decision-making</h2>
<p>${map.automatedDecisions ? esc(map.automatedDecisions) : "We do not make decisions about you by automated means, including profiling, that have legal or similarly significant effects."}</p>

<h2>Your rights</h2>
<ul>
<li><strong>Rectification</strong> (Art. 16): have inaccurate data corrected and incomplete data completed.</li>
<li><strong>Erasure</strong> (Art. 17): have your data erased, unless the law requires us to keep it.</li>
<li><strong>Restriction</strong> (Art. 18): have the processing of your data restricted.</li>
<li><strong>Objection</strong> (Art. 21): object to processing based on legitimate interests, and at any time to direct marketing.</li>
<li><strong>Portability</strong> (Art. 20): receive the data you gave us in a machine-readable form, as in this archive, or have it sent to another controller.</li>
<li><strong>Withdrawing consent</strong> (Art. 7(3)): where processing is based on your consent, withdraw it at any time.</li>
<li><strong>Complaint</strong> (Art. 77): lodge a complaint with a supervisory authority, in particular where you live or work.${authority}</li>
</ul>
${controller ? `<p>To exercise these rights, contact ${esc(controller.contact)}.</p>` : ""}
</body>
</html>
`;
}

/** The grounds of Art. 18(1), as the info sheet names them. */
const RESTRICTION_GROUNDS: Record<string, string> = {
  a: "you contested the accuracy of the data, while we check it (Art. 18(1)(a))",
  b: "the processing was unlawful and you asked for restriction instead of erasure (Art. 18(1)(b))",
  c: "you need the data for legal claims (Art. 18(1)(c))",
  d: "you objected, while we weigh our grounds against yours (Art. 18(1)(d))",
};

/** The marked section of a restricted subject's archive: every file in it is restricted data (only stored). */
function restrictionNotice(restrictions: readonly ExportRestriction[]): string {
  if (restrictions.length === 0) return "";
  const items = restrictions.map(
    (r) =>
      `<li>${escapeHtml(RESTRICTION_GROUNDS[r.ground] ?? r.ground)}${r.purpose ? `, for the purpose: ${escapeHtml(r.purpose)}` : ""}, since ${escapeHtml(r.since.slice(0, 10))}</li>`,
  );
  return `<section class="restricted" style="border:2px solid #a40;padding:.5rem 1rem;margin:1rem 0">
<h2 style="border:0;margin-top:0">Restricted data</h2>
<p>Processing of your personal data is restricted (Art. 18 GDPR): all data in this archive is only stored, and not otherwise processed without your consent, except for legal claims, to protect another person's rights, or for an important public interest.</p>
<ul>${items.join("")}</ul>
</section>`;
}
