import { DEFAULT_NOTICE_TEMPLATES } from "../../../src/breach/notice-defaults";
import { inputErrorFields } from "./expect-input-error";
import { initialWithGaps, TF } from "./report-fixtures";
import { validateReport } from "../../../src/breach/report";
import {
  contactFromReport,
  formatContact,
  NOTICE_BLOCKS,
  noticeFor,
  NoticeTemplateError,
  prepareNotices,
  renderNotice,
  resolveLocale,
  type NoticeFacts,
  type NoticeTemplate,
} from "../../../src/breach/notice-templates";

const facts = (over: Partial<NoticeFacts> = {}): NoticeFacts => ({
  controllerName: "Shop GmbH",
  incidentReference: "INC-2024-007",
  contact: { name: "Data Protection Officer", email: "dpo@shop.example", phone: "+49 30 1234567" },
  texts: {
    en: {
      summary: "Between 27 February and 1 March 2024 a file with order data was reachable on a public address.",
      dataCategories: "name, e-mail address and order history",
      consequences: "You may receive convincing phishing e-mails that mention your orders.",
      measures: "We removed the file and disabled the export that created it.",
      advice: "Be wary of e-mails asking for payment details; we never ask for them by e-mail.",
    },
    de: {
      summary: "Vom 27. Februar bis 1. März 2024 war eine Datei mit Bestelldaten öffentlich abrufbar.",
      dataCategories: "Name, E-Mail-Adresse und Bestellhistorie",
      consequences: "Sie könnten überzeugende Phishing-E-Mails erhalten, die Ihre Bestellungen erwähnen.",
      measures: "Wir haben die Datei entfernt und den Export abgeschaltet.",
      advice: "Seien Sie vorsichtig bei E-Mails, die nach Zahlungsdaten fragen.",
    },
  },
  ...over,
});

const prepare = (over: Partial<Parameters<typeof prepareNotices>[0]> = {}) =>
  prepareNotices({ templates: DEFAULT_NOTICE_TEMPLATES, facts: facts(), enabledLocales: ["en", "de"], fallbackLocale: "en", ...over });

/** Runs `fn` and returns the NoticeTemplateError it throws. */
function templateError(fn: () => unknown): NoticeTemplateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NoticeTemplateError) return err;
    throw err;
  }
  throw new Error("expected a NoticeTemplateError");
}

const withBlock = (locale: string, block: string, value: unknown): Record<string, NoticeTemplate> => {
  const t = structuredClone(DEFAULT_NOTICE_TEMPLATES[locale]!) as unknown as { blocks: Record<string, unknown> };
  if (value === undefined) delete t.blocks[block];
  else t.blocks[block] = value;
  return { ...DEFAULT_NOTICE_TEMPLATES, [locale]: t as unknown as NoticeTemplate };
};

describe("the default English and German notices", () => {
  const prepared = prepare();

  it.each([
    ["en", ["What happened", "Whom to contact", "What this may mean for you", "What we have done", "What you can do"]],
    ["de", ["Was ist geschehen", "An wen Sie sich wenden können", "Was das für Sie bedeuten kann", "Was wir unternommen haben", "Was Sie tun können"]],
  ])("%s has every block, in order, with this incident's facts", (locale, headings) => {
    const n = prepared.notices[locale]!;
    const positions = headings.map((h) => n.text.indexOf(`${h}\n`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    for (const text of Object.values(facts().texts[locale]!)) expect(n.text).toContain(text);
    expect(n.text).toContain("INC-2024-007");
    expect(n.text).toContain("Data Protection Officer\ndpo@shop.example\n+49 30 1234567");
    for (const h of headings) expect(n.html).toContain(`<h2>${h}</h2>`);
    expect(n.html).toContain(`<html lang="${locale}">`);
    expect(n.subject).toContain("Shop GmbH");
    expect(n.subject).not.toMatch(/[\r\n]/);
  });

  it("contains no advertising and no link to load", () => {
    for (const n of Object.values(prepared.notices)) {
      expect(n.html).not.toMatch(/<(script|img|link|iframe|a)\b/i);
      expect(n.html).toContain("default-src 'none'");
    }
  });

  it("picks the person's locale, else the same language, else the fallback", () => {
    expect(noticeFor(prepared, "de-AT").locale).toBe("de");
    expect(noticeFor(prepared, "fr-FR").locale).toBe("en");
    expect(noticeFor(prepared, null).locale).toBe("en");
  });
});

describe("rendering refuses, naming locale and block", () => {
  it.each([
    ["a missing block", withBlock("de", "whatYouCanDo", undefined), "de", "whatYouCanDo", "missing or empty"],
    ["an empty block body", withBlock("en", "measuresTaken", { heading: "What we did", body: " " }), "en", "measuresTaken", "missing or empty"],
    ["a block without heading", withBlock("de", "contactPoint", { body: "{{contact}}" }), "de", "contactPoint", "missing or empty"],
    [
      "a block without its incident text",
      withBlock("en", "likelyConsequences", { heading: "Consequences", body: "Nothing much." }),
      "en",
      "likelyConsequences",
      "{{consequences}}",
    ],
    [
      "a placeholder for the person's name",
      withBlock("en", "whatHappened", { heading: "What happened", body: "Dear {{firstName}}, {{summary}}" }),
      "en",
      "whatHappened",
      "unknown placeholder {{firstName}}",
    ],
    [
      "a placeholder for the person's e-mail",
      withBlock("de", "contactPoint", { heading: "Kontakt", body: "{{contact}} / {{email}}" }),
      "de",
      "contactPoint",
      "unknown placeholder {{email}}",
    ],
  ])("%s", (_name, templates, locale, block, message) => {
    const err = templateError(() => prepare({ templates }));
    expect(err.locale).toBe(locale);
    expect(err.block).toBe(block);
    expect(err.message).toContain(`notice for locale "${locale}", block ${block}: `);
    expect(err.message).toContain(message);
  });

  it.each([
    ["no template for an enabled locale", { enabledLocales: ["en", "de", "fr"] }, "fr", "no template for this locale"],
    ["no texts for an enabled locale", { facts: facts({ texts: { en: facts().texts.en! } }) }, "de", "no notice texts"],
    ["an empty text", { facts: facts({ texts: { ...facts().texts, de: { ...facts().texts.de!, advice: "  " } } }) }, "de", "texts.advice"],
    ["a fallback that is not enabled", { enabledLocales: ["de"] }, "en", "the fallback locale must be enabled"],
    ["no enabled locale", { enabledLocales: [] }, "en", "no locale is enabled"],
    [
      "a malformed locale",
      { enabledLocales: ["en", "de_DE!"], templates: { ...DEFAULT_NOTICE_TEMPLATES, "de_DE!": DEFAULT_NOTICE_TEMPLATES.de! } },
      "de_DE!",
      "BCP 47",
    ],
  ])("%s", (_name, over, locale, message) => {
    const err = templateError(() => prepare(over as Partial<Parameters<typeof prepareNotices>[0]>));
    expect(err.locale).toBe(locale);
    expect(err.message).toContain(message);
  });

  it("a missing subject, greeting or closing", () => {
    const t = { ...DEFAULT_NOTICE_TEMPLATES.en!, closing: "" };
    expect(templateError(() => renderNotice(t, facts(), "en")).block).toBe("closing");
  });

  it("an empty incident fact", () => {
    const t = { ...DEFAULT_NOTICE_TEMPLATES.en!, subject: "{{controllerName}}" };
    expect(templateError(() => renderNotice(t, facts({ controllerName: " " }), "en")).message).toContain("subject: no value for {{controllerName}}");
  });
});

describe("escaping and header safety", () => {
  it("escapes incident texts in HTML and keeps them as typed in text", () => {
    const hostile = `<b>bold</b> & "quoted" <script>x()</script>`;
    const n = renderNotice(DEFAULT_NOTICE_TEMPLATES.en!, facts({ texts: { en: { ...facts().texts.en!, summary: hostile } } }), "en");
    expect(n.text).toContain(hostile);
    expect(n.html).toContain("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &lt;script&gt;x()&lt;/script&gt;");
    expect(n.html).not.toContain("<script>");
  });

  it("keeps the subject on one line", () => {
    const n = renderNotice(DEFAULT_NOTICE_TEMPLATES.en!, facts({ controllerName: "Shop\r\nBcc: someone@example.com" }), "en");
    expect(n.subject).toBe("A personal data breach at Shop Bcc: someone@example.com concerns your data");
  });
});

describe("resolveLocale", () => {
  it.each([
    ["de", ["en", "de"], "de"],
    ["de-AT", ["en", "de"], "de"],
    ["DE-at", ["en", "de"], "de"],
    ["de-AT", ["en", "de", "de-AT"], "de-AT"],
    ["de", ["en", "de-CH"], "de-CH"],
    ["fr", ["en", "de"], "en"],
    [null, ["en", "de"], "en"],
    ["", ["en", "de"], "en"],
    ["not a tag!!", ["en", "de"], "en"],
  ] as const)("%s among %j → %s", (requested, enabled, expected) => {
    expect(resolveLocale(requested, enabled, "en")).toBe(expected);
  });
});

describe("formatContact", () => {
  it.each([
    [{ name: "DPO", email: "dpo@x.example" }, "DPO\ndpo@x.example"],
    [
      { name: "Jane Roe", role: "Data Protection Officer", phone: "+49 1", address: "Hauptstr. 1, Berlin" },
      "Jane Roe (Data Protection Officer)\n+49 1\nHauptstr. 1, Berlin",
    ],
  ])("%j", (contact, expected) => {
    expect(formatContact(contact)).toBe(expected);
  });
});

it("requires exactly the five Art. 34(2) blocks", () => {
  expect(NOTICE_BLOCKS).toEqual(["whatHappened", "contactPoint", "likelyConsequences", "measuresTaken", "whatYouCanDo"]);
});

describe("contactFromReport", () => {
  it("takes the report's contact point", () => {
    expect(contactFromReport(validateReport(null, initialWithGaps()))).toEqual({ name: "Data Protection Officer", email: "dpo@shop.example" });
  });

  it("refuses a contact point still to follow", () => {
    expect(inputErrorFields(() => contactFromReport(validateReport(null, initialWithGaps({ contact: TF }))))).toEqual(["contact"]);
  });

  it("refuses a withdrawn report", () => {
    const w = validateReport(validateReport(null, initialWithGaps()), {
      incidentId: "inc_01HX",
      version: 2,
      kind: "withdrawal",
      submittedAt: "2024-03-03T00:00:00Z",
      detectedAt: "2024-03-01T08:00:00Z",
      awareAt: "2024-03-01T10:00:00Z",
      reason: "Test data only.",
    });
    expect(inputErrorFields(() => contactFromReport(w))).toEqual(["contact"]);
  });
});
