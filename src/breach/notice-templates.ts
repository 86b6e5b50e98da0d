import { z } from "zod";
import { escapeHtml } from "../html-escape";
import { htmlPage, paragraphs } from "./html-page";
import { BreachInputError, requiredText } from "./input-error";
import { isToFollow, type Contact, type Report } from "./report";

/**
 * The Art. 34(2) notice to each affected person: in clear and plain language, what happened, the
 * contact point, the likely consequences, the measures taken, and what the person can do. A
 * template per locale gives the wording; the incident's texts fill it. Templates are plain text;
 * the HTML part is derived from it and escaped, so no markup, image, tracking pixel or
 * advertisement can enter a notice. There is no placeholder for anything about the recipient: a
 * notice is rendered once per locale and is the same for everyone who reads that locale.
 */

/** The blocks every notice must have, in the order they appear. */
export const NOTICE_BLOCKS = ["whatHappened", "contactPoint", "likelyConsequences", "measuresTaken", "whatYouCanDo"] as const;

/** One required block of a notice. */
export type NoticeBlock = (typeof NOTICE_BLOCKS)[number];

/** The placeholder each block must use, so every block carries this incident's facts rather than stale text. */
export const BLOCK_REQUIRED_PLACEHOLDER: Readonly<Record<NoticeBlock, NoticePlaceholder>> = {
  whatHappened: "summary",
  contactPoint: "contact",
  likelyConsequences: "consequences",
  measuresTaken: "measures",
  whatYouCanDo: "advice",
};

/** Every placeholder a template may use (`{{name}}`); all are facts of the incident, none about the recipient. */
export const NOTICE_PLACEHOLDERS = [
  "controllerName",
  "incidentReference",
  "contact",
  "summary",
  "dataCategories",
  "consequences",
  "measures",
  "advice",
] as const;

/** One placeholder of {@link NOTICE_PLACEHOLDERS}. */
export type NoticePlaceholder = (typeof NOTICE_PLACEHOLDERS)[number];

/** A notice template for one locale: subject line, greeting, the five blocks (heading + body), closing. */
export interface NoticeTemplate {
  locale: string;
  subject: string;
  greeting: string;
  blocks: Record<NoticeBlock, { heading: string; body: string }>;
  closing: string;
}

/** The incident-specific texts of a notice in one locale, written by the controller. */
export const NoticeTextsSchema = z
  .object({
    /** What happened, in plain words (when, how, what was exposed). */
    summary: requiredText("summary", 1, 5000),
    /** The kinds of data concerned, e.g. "name, e-mail address and order history". */
    dataCategories: requiredText("dataCategories", 1, 1000),
    consequences: requiredText("consequences", 1, 5000),
    measures: requiredText("measures", 1, 5000),
    /** What the person can do to protect themselves. */
    advice: requiredText("advice", 1, 5000),
  })
  .strict();

/** The texts of one locale. */
export type NoticeTexts = z.output<typeof NoticeTextsSchema>;

/** Everything a notice is filled from: facts of the incident and its report, and per-locale texts. */
export interface NoticeFacts {
  controllerName: string;
  /** The incident's public reference, which people quote when they write in. */
  incidentReference: string;
  /** The contact point of the report (Art. 33(3)(b), repeated for people by Art. 34(2)). */
  contact: Contact;
  /** Per-locale texts, keyed by locale. */
  texts: Readonly<Record<string, NoticeTexts>>;
}

/** A notice ready to send: subject, plain text and HTML, for one locale. */
export interface RenderedNotice {
  locale: string;
  subject: string;
  text: string;
  html: string;
}

/** Every enabled locale rendered once, and the locale used when a person's is not enabled. */
export interface PreparedNotices {
  fallbackLocale: string;
  notices: Readonly<Record<string, RenderedNotice>>;
}

/** A notice that cannot be rendered; the message names the locale, the block and the rule. */
export class NoticeTemplateError extends Error {
  override readonly name = "NoticeTemplateError";
  constructor(
    readonly locale: string,
    readonly block: string | null,
    message: string,
  ) {
    super(`notice for locale "${locale}"${block ? `, block ${block}` : ""}: ${message}`);
  }
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/** A BCP 47 tag in canonical form (`de-at` → `de-AT`), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * The locale to use for a person: their own when enabled, else an enabled one of the same
 * language (`de-AT` → `de`, `de` → `de-CH`), else the fallback. Unknown or malformed tags fall back.
 */
export function resolveLocale(requested: string | null | undefined, enabled: readonly string[], fallback: string): string {
  const want = requested ? canonicalLocale(requested) : null;
  if (!want) return fallback;
  const canon = enabled.map((l) => canonicalLocale(l) ?? l);
  const exact = canon.indexOf(want);
  if (exact >= 0) return enabled[exact]!;
  const language = want.split("-")[0]!.toLowerCase();
  const sameLanguage = canon.findIndex((l) => l.split("-")[0]!.toLowerCase() === language);
  return sameLanguage >= 0 ? enabled[sameLanguage]! : fallback;
}

/**
 * The contact point a notice repeats (Art. 34(2) refers to Art. 33(3)(b)), taken from the latest
 * report. Throws `BreachInputError` when the report has none yet ("to follow") or was withdrawn.
 */
export function contactFromReport(report: Report): Contact {
  if (report.kind === "withdrawal")
    throw new BreachInputError("notice", [{ field: "contact", message: "the report was withdrawn; there is no breach to notify" }]);
  if (isToFollow(report.contact)) throw new BreachInputError("notice", [{ field: "contact", message: "the report's contact point is still to follow" }]);
  return report.contact;
}

/** The contact point as plain lines: name (role), then each channel given. */
export function formatContact(c: Contact): string {
  const lines = [c.role ? `${c.name} (${c.role})` : c.name, c.email, c.phone, c.address].filter((l): l is string => Boolean(l));
  return lines.join("\n");
}

/** Fills `{{placeholders}}`; unknown or empty ones throw, naming locale and block. */
function fill(template: string, vars: Readonly<Record<NoticePlaceholder, string | undefined>>, locale: string, block: string): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    if (!(NOTICE_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new NoticeTemplateError(locale, block, `unknown placeholder {{${name}}} (known: ${NOTICE_PLACEHOLDERS.join(", ")})`);
    }
    const v = vars[name as NoticePlaceholder];
    if (v === undefined || v.trim() === "") throw new NoticeTemplateError(locale, block, `no value for {{${name}}}`);
    return v;
  });
}

/** Checks one locale's template has every block, each non-empty and using its required placeholder. */
function checkTemplate(locale: string, t: Partial<NoticeTemplate> | undefined): NoticeTemplate {
  if (!t) throw new NoticeTemplateError(locale, null, "no template for this locale");
  for (const part of ["subject", "greeting", "closing"] as const) {
    if (typeof t[part] !== "string" || !t[part].trim()) throw new NoticeTemplateError(locale, part, "is missing or empty");
  }
  for (const block of NOTICE_BLOCKS) {
    const b = t.blocks?.[block];
    if (!b || typeof b.heading !== "string" || !b.heading.trim() || typeof b.body !== "string" || !b.body.trim()) {
      throw new NoticeTemplateError(locale, block, "the block is missing or empty (heading and body are required)");
    }
    const used = [...b.body.matchAll(PLACEHOLDER)].map((m) => m[1]);
    if (!used.includes(BLOCK_REQUIRED_PLACEHOLDER[block])) {
      throw new NoticeTemplateError(locale, block, `the body must use {{${BLOCK_REQUIRED_PLACEHOLDER[block]}}}`);
    }
  }
  return t as NoticeTemplate;
}

/** Renders one locale. Throws {@link NoticeTemplateError} on a missing block, text or placeholder value. */
export function renderNotice(template: NoticeTemplate, facts: NoticeFacts, locale: string): RenderedNotice {
  const t = checkTemplate(locale, template);
  const rawTexts = facts.texts[locale];
  if (!rawTexts) throw new NoticeTemplateError(locale, null, "no notice texts for this locale");
  const parsed = NoticeTextsSchema.safeParse(rawTexts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NoticeTemplateError(locale, null, `texts.${issue.path.join(".")}: ${issue.message}`);
  }
  const vars: Record<NoticePlaceholder, string | undefined> = {
    controllerName: facts.controllerName,
    incidentReference: facts.incidentReference,
    contact: formatContact(facts.contact),
    ...parsed.data,
  };
  const subject = fill(t.subject, vars, locale, "subject")
    .replace(/\s*[\r\n]+\s*/g, " ")
    .trim();
  const greeting = fill(t.greeting, vars, locale, "greeting");
  const closing = fill(t.closing, vars, locale, "closing");
  const blocks = NOTICE_BLOCKS.map((b) => ({ heading: t.blocks[b].heading.trim(), body: fill(t.blocks[b].body, vars, locale, b) }));
  const text = [greeting, ...blocks.map((b) => `${b.heading}\n${b.body}`), closing].join("\n\n").concat("\n");
  const body = [paragraphs(greeting), ...blocks.map((b) => `<h2>${escapeHtml(b.heading)}</h2>\n${paragraphs(b.body)}`), paragraphs(closing)].join("\n");
  return { locale, subject, text, html: htmlPage(locale, subject, body) };
}

/**
 * Renders the notice in every enabled locale before anything is sent: one missing template, block,
 * text or value in any enabled locale fails the whole set (naming locale and block), so a fan-out
 * never starts with a locale it cannot serve. Pass `DEFAULT_NOTICE_TEMPLATES` for the built-in en/de set.
 */
export function prepareNotices(opts: {
  templates: Readonly<Record<string, NoticeTemplate>>;
  facts: NoticeFacts;
  enabledLocales: readonly string[];
  fallbackLocale: string;
}): PreparedNotices {
  const { templates, facts, enabledLocales, fallbackLocale } = opts;
  if (enabledLocales.length === 0) throw new NoticeTemplateError(fallbackLocale, null, "no locale is enabled");
  if (!enabledLocales.includes(fallbackLocale)) throw new NoticeTemplateError(fallbackLocale, null, "the fallback locale must be enabled");
  const notices: Record<string, RenderedNotice> = {};
  for (const locale of enabledLocales) {
    if (canonicalLocale(locale) === null) throw new NoticeTemplateError(locale, null, "not a valid BCP 47 language tag");
    notices[locale] = renderNotice(checkTemplate(locale, templates[locale]), facts, locale);
  }
  return { fallbackLocale, notices };
}

/** The prepared notice for a person whose locale (from the data map) is `requested`, with fallback. */
export function noticeFor(prepared: PreparedNotices, requested: string | null | undefined): RenderedNotice {
  const locale = resolveLocale(requested, Object.keys(prepared.notices), prepared.fallbackLocale);
  return prepared.notices[locale]!;
}
