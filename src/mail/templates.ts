import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { escapeHtml } from "../html-escape";
import { DEFAULT_TEMPLATES } from "./default-templates";

/** One message kind's templates: subject line, plain text and HTML. */
export interface MailTemplates {
  subject: string;
  text: string;
  html: string;
}

/** A template that cannot be used (unknown placeholder, unreadable file); the message names file and placeholder. */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/**
 * Loads `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`, each from `dir` when it holds one,
 * else built in. Fails at start-up (not at send time) on a placeholder outside `allowed`.
 */
export function loadTemplates(kind: string, dir: string | null, allowed: readonly string[]): MailTemplates {
  const read = (name: string): string => {
    const file = dir ? join(dir, name) : null;
    let text: string | undefined;
    if (file && existsSync(file)) {
      try {
        text = readFileSync(file, "utf8");
      } catch (err) {
        throw new TemplateError(`mail template ${file} cannot be read: ${(err as Error).message}`);
      }
    } else {
      text = DEFAULT_TEMPLATES[name];
    }
    if (text === undefined) throw new TemplateError(`no mail template ${name}`);
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (!allowed.includes(m[1]!)) throw new TemplateError(`mail template ${file ?? name}: unknown placeholder {{${m[1]}}} (known: ${allowed.join(", ")})`);
    }
    return text;
  };
  return { subject: read(`${kind}.subject.txt`).trim(), text: read(`${kind}.txt`), html: read(`${kind}.html`) };
}

/** Fills a template; `html` escapes every value. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>, html = false): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const v = vars[name] ?? "";
    return html ? escapeHtml(v) : v;
  });
}

/** Renders all three parts; the subject line is kept to one line. */
export function renderMail(t: MailTemplates, vars: Readonly<Record<string, string>>): MailTemplates {
  return { subject: renderTemplate(t.subject, vars).replace(/[\r\n]+/g, " "), text: renderTemplate(t.text, vars), html: renderTemplate(t.html, vars, true) };
}
