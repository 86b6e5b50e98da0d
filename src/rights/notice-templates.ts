/**
 * Built-in templates of the rights notices (`notice-<kind>.subject.txt`, `.txt`, `.html`); an
 * operator replaces any of them with a file of the same name in LETHE_MAIL_TEMPLATES_DIR. The
 * refusal names the right to complain to a supervisory authority (Art. 12(4), 77).
 */

/** Placeholders the notice templates may use. */
export const NOTICE_TEMPLATE_VARS = [
  "requestId",
  "requestType",
  "receivedAt",
  "dueAt",
  "originalDueAt",
  "months",
  "reason",
  "decision",
  "purpose",
  "restrictionNote",
  "controllerName",
  "controllerContact",
  "supervisoryAuthority",
] as const;

const html = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;color:#222;max-width:40rem">
${body}
<p style="color:#666;font-size:.85em">Reference: {{requestId}}</p>
</body></html>
`;

/** The default templates, by file name. */
export const RIGHTS_NOTICE_TEMPLATES: Readonly<Record<string, string>> = {
  "notice-extension.subject.txt": "Your request to {{controllerName}} needs more time",
  "notice-extension.txt": `Hello,

we received your request ({{requestType}}) on {{receivedAt}}. We need more time to answer it and
extend the deadline by {{months}} month(s), from {{originalDueAt}} to {{dueAt}} (UTC), as
Art. 12(3) GDPR allows. The reason:

{{reason}}

If you have questions, contact {{controllerContact}}.

Reference: {{requestId}}
`,
  "notice-extension.html": html(
    "More time for your request",
    `<p>Hello,</p>
<p>we received your request ({{requestType}}) on {{receivedAt}}. We need more time to answer it and extend the deadline by {{months}} month(s), from {{originalDueAt}} to {{dueAt}} (UTC), as Art. 12(3) GDPR allows. The reason:</p>
<blockquote>{{reason}}</blockquote>
<p>If you have questions, contact {{controllerContact}}.</p>`,
  ),
  "notice-refusal.subject.txt": "Your request to {{controllerName}}",
  "notice-refusal.txt": `Hello,

we will not act on your request ({{requestType}}) of {{receivedAt}}. The reason:

{{reason}}
{{restrictionNote}}
You have the right to lodge a complaint with a supervisory authority ({{supervisoryAuthority}})
and to seek a judicial remedy (Art. 12(4), 77 and 79 GDPR). You can also contact us:
{{controllerContact}}.

Reference: {{requestId}}
`,
  "notice-refusal.html": html(
    "Your request",
    `<p>Hello,</p>
<p>we will not act on your request ({{requestType}}) of {{receivedAt}}. The reason:</p>
<blockquote>{{reason}}</blockquote>
<p>{{restrictionNote}}</p>
<p>You have the right to lodge a complaint with a supervisory authority ({{supervisoryAuthority}}) and to seek a judicial remedy (Art. 12(4), 77 and 79 GDPR). You can also contact us: {{controllerContact}}.</p>`,
  ),
  "notice-restriction-lifted.subject.txt": "The restriction of your data at {{controllerName}} ends",
  "notice-restriction-lifted.txt": `Hello,

we restricted the processing of your personal data at your request (Art. 18 GDPR). Before the
restriction ends, we let you know (Art. 18(3)): it is lifted now. The reason:

{{reason}}

If you disagree, contact {{controllerContact}}; you may also complain to a supervisory authority
({{supervisoryAuthority}}).

Reference: {{requestId}}
`,
  "notice-restriction-lifted.html": html(
    "The restriction of your data ends",
    `<p>Hello,</p>
<p>we restricted the processing of your personal data at your request (Art. 18 GDPR). Before the restriction ends, we let you know (Art. 18(3)): it is lifted now. The reason:</p>
<blockquote>{{reason}}</blockquote>
<p>If you disagree, contact {{controllerContact}}; you may also complain to a supervisory authority ({{supervisoryAuthority}}).</p>`,
  ),
  "notice-objection-decision.subject.txt": "Your objection to {{controllerName}}: our decision",
  "notice-objection-decision.txt": `Hello,

you objected (Art. 21(1) GDPR) to our processing of your personal data for: {{purpose}}.
Our decision: {{decision}}. The grounds:

{{reason}}
{{restrictionNote}}
You have the right to lodge a complaint with a supervisory authority ({{supervisoryAuthority}})
and to seek a judicial remedy. You can also contact us: {{controllerContact}}.

Reference: {{requestId}}
`,
  "notice-objection-decision.html": html(
    "Your objection: our decision",
    `<p>Hello,</p>
<p>you objected (Art. 21(1) GDPR) to our processing of your personal data for: {{purpose}}.</p>
<p>Our decision: <strong>{{decision}}</strong>. The grounds:</p>
<blockquote>{{reason}}</blockquote>
<p>{{restrictionNote}}</p>
<p>You have the right to lodge a complaint with a supervisory authority ({{supervisoryAuthority}}) and to seek a judicial remedy. You can also contact us: {{controllerContact}}.</p>`,
  ),
};
