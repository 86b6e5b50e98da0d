import { escapeHtml } from "../html-escape";

/**
 * A self-contained HTML page: inline styles only, no scripts, images, fonts or links to load, and
 * a Content-Security-Policy that forbids loading anything, so a page opened from a mail or a file
 * fetches nothing and tracks no one. `body` must already be escaped HTML; `lang` and `title` are
 * escaped here.
 */
export function htmlPage(lang: string, title: string, body: string): string {
  return [
    "<!DOCTYPE html>",
    `<html lang="${escapeHtml(lang)}">`,
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111}" +
      "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.75rem}table{border-collapse:collapse;width:100%}" +
      "th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}.todo{color:#8a4b00;font-style:italic}</style>",
    "</head>",
    "<body>",
    body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Escaped text as HTML paragraphs: blank lines separate paragraphs, single newlines become `<br>`. */
export function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, "<br>")}</p>`)
    .join("\n");
}
