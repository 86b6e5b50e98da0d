import type { NoticeTemplate } from "./notice-templates";

/**
 * The built-in Art. 34(2) notice templates, English and German: plain language, the five required
 * blocks, no advertising, nothing about the person beyond the fact that the breach concerns them.
 * Incident-specific text comes through placeholders from the notice texts and the report.
 */
export const DEFAULT_NOTICE_TEMPLATES: Readonly<Record<string, NoticeTemplate>> = {
  en: {
    locale: "en",
    subject: "A personal data breach at {{controllerName}} concerns your data",
    greeting: "Hello,\n\nwe are writing to tell you about a personal data breach at {{controllerName}} that concerns your personal data.",
    blocks: {
      whatHappened: { heading: "What happened", body: "{{summary}}\n\nThe data concerned: {{dataCategories}}." },
      contactPoint: {
        heading: "Whom to contact",
        body: "If you have questions, please contact us and quote the reference {{incidentReference}}:\n\n{{contact}}",
      },
      likelyConsequences: { heading: "What this may mean for you", body: "{{consequences}}" },
      measuresTaken: { heading: "What we have done", body: "{{measures}}" },
      whatYouCanDo: { heading: "What you can do", body: "{{advice}}" },
    },
    closing:
      "You receive this message because the law requires us to tell you about this breach (Article 34 of the General Data Protection Regulation). It contains no advertising.\n\n{{controllerName}}",
  },
  de: {
    locale: "de",
    subject: "Verletzung des Schutzes Ihrer personenbezogenen Daten bei {{controllerName}}",
    greeting: "Guten Tag,\n\nwir informieren Sie über eine Verletzung des Schutzes personenbezogener Daten bei {{controllerName}}, die Ihre Daten betrifft.",
    blocks: {
      whatHappened: { heading: "Was ist geschehen", body: "{{summary}}\n\nBetroffene Daten: {{dataCategories}}." },
      contactPoint: {
        heading: "An wen Sie sich wenden können",
        body: "Bei Fragen wenden Sie sich bitte unter Angabe des Aktenzeichens {{incidentReference}} an:\n\n{{contact}}",
      },
      likelyConsequences: { heading: "Was das für Sie bedeuten kann", body: "{{consequences}}" },
      measuresTaken: { heading: "Was wir unternommen haben", body: "{{measures}}" },
      whatYouCanDo: { heading: "Was Sie tun können", body: "{{advice}}" },
    },
    closing:
      "Sie erhalten diese Nachricht, weil wir gesetzlich verpflichtet sind, Sie über diese Verletzung zu informieren (Artikel 34 der Datenschutz-Grundverordnung). Sie enthält keine Werbung.\n\n{{controllerName}}",
  },
};
