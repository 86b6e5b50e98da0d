import { Client } from "pg";
import { simpleParser } from "mailparser";
import type { Manifest } from "../src/exports/manifest";
import type { DemoContext } from "./context";
import { catcherOf } from "./smtp-catcher";
import { listZip, readZipEntry } from "./zip-listing";

/**
 * The export section of `npm run demo` (Art. 15 access / Art. 20 portability): a customer asks
 * for their data; the worker streams a zip and emails a signed, expiring link; the demo prints
 * the email its SMTP catcher received, downloads the zip through the link, lists its entries and
 * shows the manifest, and shows that an altered link is refused.
 */
export async function runExportDemo(ctx: DemoContext): Promise<void> {
  const caught = await catcherOf(ctx);
  const customer = await (async () => {
    const db = new Client({ connectionString: ctx.shopUrl });
    await db.connect();
    try {
      const res = await db.query<{ id: number; email: string }>(
        `SELECT c.id, c.email FROM public.customers c WHERE c.email NOT LIKE '%@erased.invalid'
          ORDER BY (SELECT count(*) FROM public.orders o WHERE o.customer_id = c.id) DESC, c.id LIMIT 1`,
      );
      return res.rows[0];
    } finally {
      await db.end();
    }
  })();
  if (!customer) throw new Error("the shop has no customer left to export");

  const { print } = ctx;
  print.section(`Export: POST /v1/requests {"type":"export","subject":{"email":"${customer.email}"}}`);
  const submitted = await ctx.api.submit({ type: "export", subject: { email: customer.email } });
  const view = await ctx.api.waitForRequest(submitted.id, 30_000);
  if (view.status !== "completed" || !view.export)
    throw new Error(`export request ${view.id} ended ${view.status}${view.error ? `: ${view.error.message}` : ""}`);
  print.line(`request ${view.id}: ${view.status} (the request completes when the link has been mailed)`, 2);
  print.keyValues([
    [
      "export",
      `${view.export.id}: ${view.export.status}, ${view.export.rows} rows, ${view.export.sizeBytes} bytes, sha256 ${view.export.sha256?.slice(0, 16)}…`,
    ],
    ["link expires", view.export.expiresAt],
    ["delivery", `${view.export.delivery?.status} after ${view.export.delivery?.attempts} attempt(s)`],
  ]);

  print.heading("The email the SMTP catcher received:");
  if (caught.length !== 1) throw new Error(`expected one email, the catcher has ${caught.length}`);
  const mail = await simpleParser(caught[0]!.raw);
  print.keyValues([
    ["From", mail.from?.text],
    ["To", caught[0]!.to.join(", ")],
    ["Subject", mail.subject],
  ]);
  print.line();
  for (const line of (mail.text ?? "").trimEnd().split("\n")) print.line(line, 4);
  const link = /(https?:\/\/\S+\/download\?token=\S+)/.exec(mail.text ?? "")?.[1];
  if (!link) throw new Error("the email holds no download link");

  print.heading(`GET ${link.replace(/token=[^&]+/, "token=…")} (no API key: the signed token is the credential)`);
  const res = await fetch(link);
  if (res.status !== 200) throw new Error(`the download answered ${res.status}`);
  const zip = Buffer.from(await res.arrayBuffer());
  print.keyValues([
    ["status", res.status],
    ["content-type", res.headers.get("content-type")],
    ["content-disposition", res.headers.get("content-disposition")],
    ["bytes", zip.length],
  ]);
  const entries = listZip(zip);
  print.heading("Entries of the zip:");
  print.table(
    ["name", { header: "bytes", right: true }, { header: "stored", right: true }],
    entries.map((e) => [e.name, e.size, e.compressed]),
  );
  const manifestEntry = entries.find((e) => e.name === "manifest.json");
  if (!manifestEntry) throw new Error("the zip has no manifest.json");
  const manifest = JSON.parse(readZipEntry(zip, manifestEntry).toString("utf8")) as Manifest;
  print.heading(`manifest.json (${manifest.format}, generated ${manifest.generatedAt} by Lethe ${manifest.generator.version}):`);
  print.table(
    ["entry", { header: "rows", right: true }, "sha256"],
    manifest.entries.map((e) => [e.path, e.rows ?? "", `${e.sha256.slice(0, 16)}…`]),
  );

  const altered = link.replace(/token=(\d+)\./, (_m, exp: string) => `token=${Number(exp) + 86_400}.`);
  const refused = await fetch(altered);
  print.heading("The same link with its expiry pushed back a day:");
  print.line(`${refused.status} ${((await refused.json()) as { title?: string }).title ?? ""}`, 4);
  if (refused.status !== 403) throw new Error(`an altered link answered ${refused.status}`);
  print.line();
  print.line(`the file is deleted when the link expires (${view.export.expiresAt}); the purge job runs on the maintenance queue`, 2);
}
