import type { RegisterDrift } from "../../../ropa/check";
import type { ProcessingRegister } from "../../../ropa/register";
import { registerHtmlSections } from "../../../ropa/render";
import { esc, instant } from "../layout";

/** The register of processing, generated, with its drift (what `lethe ropa check` would fail on). */
export function registerBody(r: ProcessingRegister, drift: RegisterDrift[]): string {
  const driftHtml = drift.length
    ? `<div class="notice error" role="status"><p>The register drifts from what Lethe enforces (${drift.length}):</p><ul>${drift.map((d) => `<li>${esc(d.where)}: ${esc(d.message)}</li>`).join("")}</ul></div>`
    : `<p class="notice ok" role="status">The register matches the data map and the retention policies Lethe enforces.</p>`;
  return `${driftHtml}<p class="muted">Generated ${instant(r.generatedAt)} from the data map; download as <a href="/admin/register/md">Markdown</a>, <a href="/admin/register/csv">CSV</a> or <a href="/admin/register/json">JSON</a>; <code>lethe ropa</code> and <code>GET /v1/ropa</code> give the same.</p>${registerHtmlSections(r)}`;
}
