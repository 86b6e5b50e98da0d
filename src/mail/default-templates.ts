import { RIGHTS_NOTICE_TEMPLATES } from "../rights/notice-templates";

/**
 * Built-in mail templates. An operator replaces any of them by putting a file of the same name
 * in LETHE_MAIL_TEMPLATES_DIR. `{{name}}` is replaced (HTML-escaped in `.html` templates).
 */
export const DEFAULT_TEMPLATES: Readonly<Record<string, string>> = {
  ...RIGHTS_NOTICE_TEMPLATES,
  "export.subject.txt": "Your personal data from {{controllerName}}",
  "export.txt": `Hello,

you asked {{controllerName}} for a copy of your personal data. It is ready:

{{link}}

The link works until {{expiresAt}} (UTC); after that the file is deleted. The archive ({{size}})
holds your data as JSON and CSV files and an overview (index.html) of why we process it, who
receives it, how long we keep it, and your rights.

If you did not make this request, contact {{controllerContact}}.

Reference: {{requestId}}
`,
  "export.html": `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your personal data</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;color:#222;max-width:40rem">
<p>Hello,</p>
<p>you asked {{controllerName}} for a copy of your personal data. It is ready:</p>
<p><a href="{{link}}" style="display:inline-block;padding:.6rem 1rem;background:#2457c5;color:#fff;text-decoration:none;border-radius:4px">Download your data</a></p>
<p>The link works until {{expiresAt}} (UTC); after that the file is deleted. The archive ({{size}}) holds your data as JSON and CSV files and an overview (index.html) of why we process it, who receives it, how long we keep it, and your rights.</p>
<p>If you did not make this request, contact {{controllerContact}}.</p>
<p style="color:#666;font-size:.85em">Reference: {{requestId}}</p>
</body></html>
`,
};
