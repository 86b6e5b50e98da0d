import { escapeHtml } from "../../html-escape";
import { DASHBOARD_PATH } from "../dashboard";
import type { ConsoleUser } from "./session";

/** Where the console is served. */
export const CONSOLE_PATH = "/admin";

/** The Content-Security-Policy of every console page: nothing but this origin's stylesheet and forms. */
export const CONSOLE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Escapes text for HTML. */
export const esc = escapeHtml;

/** The console's sections, in navigation order. */
export const SECTIONS = [
  ["requests", "Requests"],
  ["incidents", "Incidents"],
  ["retention", "Retention"],
  ["deliveries", "Deliveries"],
  ["holds", "Holds"],
  ["audit", "Audit"],
  ["register", "Register (Art. 30)"],
] as const;
/** One console section. */
export type Section = (typeof SECTIONS)[number][0];

/** A message shown at the top of a page (after an action). */
export interface Flash {
  kind: "ok" | "error";
  text: string;
}

/** What a page hands the shell. */
export interface PageShell {
  title: string;
  section: Section | null;
  user: ConsoleUser | null;
  /** The CSRF token of the user's session (for the logout form), null for a Bearer caller. */
  csrf: string | null;
  flash?: Flash | null;
  body: string;
}

/** A date as `YYYY-MM-DD` (UTC) in a `<time>` element. */
export function day(iso: string | null): string {
  if (!iso) return `<span class="muted">—</span>`;
  return `<time datetime="${esc(iso)}">${esc(iso.slice(0, 10))}</time>`;
}

/** An instant as `YYYY-MM-DD HH:MM UTC` in a `<time>` element. */
export function instant(iso: string | null): string {
  if (!iso) return `<span class="muted">—</span>`;
  return `<time datetime="${esc(iso)}">${esc(iso.slice(0, 10))} ${esc(iso.slice(11, 16))} UTC</time>`;
}

/** A hidden CSRF field (nothing for a Bearer caller). */
export function csrfField(csrf: string | null): string {
  return csrf ? `<input type="hidden" name="csrf" value="${esc(csrf)}">` : "";
}

/** Link to a job in bull-board. */
export function jobLink(queue: string, id: string, text = "job"): string {
  return `<a href="${DASHBOARD_PATH}/queue/${encodeURIComponent(queue)}/${encodeURIComponent(id)}">${esc(text)}</a>`;
}

/** A whole console page. */
export function renderPage(p: PageShell): string {
  const nav = p.user
    ? SECTIONS.map(([key, label]) => `<a href="${CONSOLE_PATH}/${key}"${p.section === key ? ' aria-current="page"' : ""}>${esc(label)}</a>`).join("") +
      `<a href="${DASHBOARD_PATH}">Queues</a>`
    : "";
  const logout = p.user
    ? `<span class="who">key: ${esc(p.user.key.name)}</span><form method="post" action="${CONSOLE_PATH}/logout">${csrfField(p.csrf)}<button type="submit" class="secondary">Log out</button></form>`
    : "";
  const flash = p.flash ? `<p class="notice ${p.flash.kind}" role="status">${esc(p.flash.text)}</p>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.title)} · Lethe console</title>
<link rel="stylesheet" href="${CONSOLE_PATH}/console.css">
<link rel="icon" href="${CONSOLE_PATH}/favicon.svg" type="image/svg+xml">
</head>
<body>
<header class="top"><span class="brand">Lethe</span><nav aria-label="Sections">${nav}</nav>${logout}</header>
<main id="main">
<h1>${esc(p.title)}</h1>
${flash}
${p.body}
</main>
</body>
</html>`;
}
