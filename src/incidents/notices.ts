import { z } from "zod";
import { BreachInputError, parseBreachInput, requiredText } from "../breach/input-error";
import { DEFAULT_NOTICE_TEMPLATES } from "../breach/notice-defaults";
import { contactFromReport, NoticeTemplateError, NoticeTextsSchema, prepareNotices, type NoticeTemplate } from "../breach/notice-templates";
import { ContactSchema } from "../breach/report";
import type { DataMap } from "../datamap/schema";
import { insertNotice, latestNotice, noticeVersion, noticeVersions, type NoticeRow } from "../db/tables/incident-notice";
import type { Sql } from "../db/tables/sql";
import { IncidentNotFoundError } from "./errors";
import { assertNotFinal, requireIncident } from "./register";
import { latestReportDocument } from "./reports";

/**
 * The Art. 34(2) notice of an incident, one version at a time: the controller writes the texts per
 * locale; the core renders every enabled locale before anything is stored (a missing block or text
 * in any locale refuses the whole version); the contact point is the latest report's unless the
 * body gives one (people may be told before the authority). Built-in templates: en, de; a body may
 * bring its own per locale.
 */

const locale = z.string().min(2).max(35);

/** Body of a new notice version. */
export const NoticeBodySchema = z
  .object({
    texts: z.record(locale, NoticeTextsSchema).refine((t) => Object.keys(t).length > 0, "give the texts of at least one locale"),
    /** Locales to render (Default: those of `texts`). */
    locales: z.array(locale).min(1).max(50).optional(),
    /** Locale for people whose own is not enabled (Default: `en` when enabled, else the first). */
    fallbackLocale: locale.optional(),
    /** Templates replacing or adding to the built-in ones, per locale. */
    templates: z.record(locale, z.unknown()).optional(),
    /** The controller's name in the notice (Default: the data map's controller). */
    controllerName: requiredText("controllerName", 1, 200).optional(),
    /** The contact point (Default: the latest report's). */
    contact: ContactSchema.optional(),
  })
  .strict();

/** Renders and stores the next notice version of the incident. */
export async function prepareIncidentNotice(q: Sql, dataMap: DataMap, id: string, input: unknown, by: string): Promise<NoticeRow> {
  const body = parseBreachInput("notice", NoticeBodySchema, input);
  const row = await requireIncident(q, id);
  assertNotFinal(row, "take a new notice");
  const locales = body.locales ?? Object.keys(body.texts);
  const fallbackLocale = body.fallbackLocale ?? (locales.includes("en") ? "en" : locales[0]!);
  let contact = body.contact;
  if (!contact) {
    const report = await latestReportDocument(q, row.id);
    if (!report) throw new BreachInputError("notice", [{ field: "contact", message: "no report gives the contact point yet; give contact in the body" }]);
    contact = contactFromReport(report);
  }
  const controllerName = body.controllerName ?? dataMap.controller?.name;
  if (!controllerName) throw new BreachInputError("notice", [{ field: "controllerName", message: "the data map names no controller; give controllerName" }]);
  const templates = { ...DEFAULT_NOTICE_TEMPLATES, ...((body.templates ?? {}) as Record<string, NoticeTemplate>) };
  let prepared;
  try {
    prepared = prepareNotices({
      templates,
      facts: { controllerName, incidentReference: row.reference, contact, texts: body.texts },
      enabledLocales: locales,
      fallbackLocale,
    });
  } catch (err) {
    if (err instanceof NoticeTemplateError)
      throw new BreachInputError("notice", [{ field: `templates.${err.locale}${err.block ? `.${err.block}` : ""}`, message: err.message }]);
    throw err;
  }
  return insertNotice(q, { incidentId: row.id, fallbackLocale, locales, texts: body.texts, notices: { ...prepared.notices }, by });
}

/** Every version's summary. */
export async function listNotices(q: Sql, id: string) {
  const row = await requireIncident(q, id);
  return noticeVersions(q, row.id);
}

/** One version (the latest when `version` is null), or {@link IncidentNotFoundError}. */
export async function getNotice(q: Sql, id: string, version: number | null): Promise<NoticeRow> {
  const row = await requireIncident(q, id);
  const notice = version === null ? await latestNotice(q, row.id) : await noticeVersion(q, row.id, version);
  if (!notice) throw new IncidentNotFoundError(`incident ${row.reference} has no notice${version === null ? "" : ` version ${version}`}`);
  return notice;
}
