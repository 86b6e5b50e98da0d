import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseDataMap } from "../../src/datamap/load";
import { inlineParamReads, jsonLinesToArray } from "../../src/stores/postgres/copy-out";
import { describeDuration, renderInfoSheet } from "../../src/exports/info-sheet";
import { downloadUrl, linkExpiry, signExportToken, verifyExportToken } from "../../src/exports/link-token";
import { EXPORT_TEMPLATE_VARS, humanSize, mailDomain } from "../../src/exports/send-export-mail";
import { isSafeEntryPath, ZipFileWriter } from "../../src/exports/zip-writer";
import { classifySmtpError } from "../../src/mail/smtp-error";
import { loadTemplates, renderMail, TemplateError } from "../../src/mail/templates";
import { limiterFor } from "../../src/queues/limiter";
import { zipEntries, zipEntry, zipTest } from "../helpers/zip";

const KEY = Buffer.alloc(32, 7);
const ID = "6f1c1a52-3b7e-4d2a-9a59-0c6d3c1e2f10";

describe("signed download links", () => {
  it("verifies its own token and refuses tampering, other ids, other keys and expiry", () => {
    const expires = linkExpiry(new Date(Date.now() + 3600_000));
    const token = signExportToken(KEY, ID, expires);
    expect(verifyExportToken(KEY, ID, token)).toEqual({ ok: true, expiresAt: expires });
    const [exp, mac] = token.split(".") as [string, string];
    expect(verifyExportToken(KEY, ID, `${Number(exp) + 1}.${mac}`)).toEqual({ ok: false, reason: "tampered" });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    expect(verifyExportToken(KEY, ID, `${exp}.${flip(mac, 5)}`)).toEqual({ ok: false, reason: "tampered" });
    // Every character matters, including the padding bits of the last one.
    expect(verifyExportToken(KEY, ID, `${exp}.${flip(mac, mac.length - 1)}`)).toEqual({ ok: false, reason: "tampered" });
    expect(verifyExportToken(KEY, ID.replace("6f", "7f"), token)).toEqual({ ok: false, reason: "tampered" });
    expect(verifyExportToken(Buffer.alloc(32, 8), ID, token)).toEqual({ ok: false, reason: "tampered" });
    expect(verifyExportToken(KEY, ID, "")).toEqual({ ok: false, reason: "tampered" });
    expect(verifyExportToken(KEY, ID, "garbage.token")).toEqual({ ok: false, reason: "tampered" });
    expect(verifyExportToken(KEY, ID, token, new Date(expires.getTime() + 1))).toEqual({ ok: false, reason: "expired" });
    const past = signExportToken(KEY, ID, new Date(Date.now() - 1000));
    expect(verifyExportToken(KEY, ID, past)).toEqual({ ok: false, reason: "expired" });
    expect(downloadUrl("https://lethe.example", ID, token)).toBe(`https://lethe.example/v1/exports/${ID}/download?token=${encodeURIComponent(token)}`);
  });
});

describe("COPY plumbing", () => {
  const collect = async (chunks: string[]) => {
    const seen = { rows: 0 };
    const out: Buffer[] = [];
    for await (const b of jsonLinesToArray(Readable.from(chunks.map((c) => Buffer.from(c))), seen)) out.push(b);
    return { text: Buffer.concat(out).toString("utf8"), rows: seen.rows };
  };

  it("frames JSON lines as one array whatever the chunking, and counts rows", async () => {
    const rows = [
      { a: 1, s: 'x,\\n"y"' },
      { a: 2, s: "ü€" },
      { a: 3, s: null },
    ];
    const lines = rows.map((r) => `${JSON.stringify(r)}\n`).join("");
    for (const cut of [
      [lines],
      lines.split(""),
      [lines.slice(0, 5), lines.slice(5, 30), lines.slice(30)],
      lines.split("\n").map((l, i, all) => (i < all.length - 1 ? `${l}\n` : l)),
    ]) {
      const { text, rows: n } = await collect(cut);
      expect(JSON.parse(text)).toEqual(rows);
      expect(n).toBe(3);
      expect(text).toBe(`[\n${rows.map((r) => JSON.stringify(r)).join(",\n")}\n]\n`);
    }
    expect(await collect([])).toEqual({ text: "[]\n", rows: 0 });
  });

  it("replaces placeholders outside quoted identifiers only", () => {
    const sql = `"a$1" = $1::text::int OR ("we""ird$2", "b") IN (SELECT * FROM unnest($2::text[]::int[], $3::text[]::text[]))`;
    const out = inlineParamReads(sql, ["7", ["1"], ["x"]]);
    expect(out).toContain(`"a$1" = (current_setting('lethe.copy_params')::jsonb ->> 0)::text::int`);
    expect(out).toContain(`"we""ird$2"`);
    expect(out).toContain(`unnest(ARRAY(SELECT jsonb_array_elements_text(current_setting('lethe.copy_params')::jsonb -> 1))::text[]::int[]`);
    expect(out).not.toMatch(/\$[23]::/);
    expect(() => inlineParamReads("x = $4", ["1"])).toThrow(/no parameter/);
    expect(() => inlineParamReads("x = 'literal'", [])).toThrow(/string literals/);
  });
});

describe("zip writer", () => {
  it("refuses unsafe entry paths", () => {
    for (const p of ["/etc/passwd", "../x", "data/../../x", "a//b", "a\\b", "./a"]) expect(isSafeEntryPath(p)).toBe(false);
    for (const p of ["index.html", "data/main/customer.json", "files/docs/a b.pdf"]) expect(isSafeEntryPath(p)).toBe(true);
  });

  it("writes entries with sizes and hashes, renames into place, and fails cleanly on a broken source", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lethe-zip-"));
    try {
      const file = join(dir, "a.zip");
      const zip = new ZipFileWriter(file);
      const a = await zip.add({ path: "data/s/t.json", store: "s", table: "t", contentType: "application/json", source: "[]\n", rows: () => 0 });
      expect(a).toEqual({
        path: "data/s/t.json",
        store: "s",
        table: "t",
        contentType: "application/json",
        rows: 0,
        bytes: 3,
        sha256: createHash("sha256").update("[]\n").digest("hex"),
      });
      await expect(zip.add({ path: "data/s/t.json", contentType: "text/plain", source: "again" })).rejects.toThrow(/duplicate/);
      const result = await zip.finish();
      expect(result.entries.map((e) => e.path)).toEqual(["data/s/t.json"]);
      await zipTest(file);
      expect(await zipEntries(file)).toEqual(["data/s/t.json"]);
      expect((await zipEntry(file, "data/s/t.json")).toString()).toBe("[]\n");

      const broken = new ZipFileWriter(join(dir, "b.zip"));
      const failing = (async function* () {
        yield Buffer.from("part");
        throw new Error("cursor broke");
      })();
      await expect(broken.add({ path: "x.csv", contentType: "text/csv", source: failing })).rejects.toThrow("cursor broke");
      await broken.abort();
      expect(readdirSync(dir).sort()).toEqual(["a.zip"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("info sheet and templates", () => {
  const map = parseDataMap({
    version: 1,
    subject: { store: "s", table: "people", key: "id" },
    controller: { name: "Acme <Ltd>", contact: "privacy@acme.example" },
    purposes: [{ name: "Service & support", legalBasis: "contract" }],
    recipients: [{ name: "Mailer Inc", purpose: "newsletters", thirdCountry: "United States" }],
    stores: {
      s: {
        kind: "postgres",
        url: "postgres://x",
        tables: {
          people: { action: "delete", purpose: "Accounts", retention: "P2Y6M", fields: { email: { category: "contact" }, dob: { category: "demographic" } } },
        },
      },
    },
  });

  it("renders the Art. 15 items, escaped", () => {
    const html = renderInfoSheet({
      dataMap: map,
      requestId: ID,
      generatedAt: new Date("2026-01-02T03:04:05Z"),
      entries: [{ path: "data/s/people.json", store: "s", table: "people", contentType: "application/json", rows: 1, bytes: 10, sha256: "0".repeat(64) }],
    });
    expect(html).toContain("Acme &lt;Ltd&gt;");
    expect(html).not.toContain("Acme <Ltd>");
    expect(html).toContain("Service &amp; support");
    expect(html).toContain("Accounts");
    expect(html).toContain("Yes: United States");
    expect(html).toContain("2 years, 6 months");
    expect(html).toContain("Contact details");
    expect(html).toContain("Demographic");
    expect(html).toContain("Complaint");
    expect(html).toContain("We collected this data from you.");
    expect(describeDuration("P10Y")).toBe("10 years");
    expect(describeDuration("P1D")).toBe("1 day");
    expect(describeDuration("PT36H")).toBe("PT36H");
  });

  it("loads operator templates, refuses unknown placeholders, escapes HTML values", () => {
    const dir = mkdtempSync(join(tmpdir(), "lethe-tpl-"));
    try {
      writeFileSync(join(dir, "export.subject.txt"), "Data for {{ controllerName }}\n");
      writeFileSync(join(dir, "export.html"), '<a href="{{link}}">{{controllerName}}</a>');
      const t = loadTemplates("export", dir, EXPORT_TEMPLATE_VARS);
      const mail = renderMail(t, {
        link: "https://x.example/?a=1&b=2",
        controllerName: "A & B",
        expiresAt: "",
        size: "1 kB",
        requestId: ID,
        controllerContact: "c",
      });
      expect(mail.subject).toBe("Data for A & B");
      expect(mail.html).toBe('<a href="https://x.example/?a=1&amp;b=2">A &amp; B</a>');
      expect(mail.text).toContain("https://x.example/?a=1&b=2");
      writeFileSync(join(dir, "export.txt"), "Hi {{name}}");
      expect(() => loadTemplates("export", dir, EXPORT_TEMPLATE_VARS)).toThrow(TemplateError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("mail helpers", () => {
  it("classifies SMTP failures without quoting the server", () => {
    expect(classifySmtpError({ responseCode: 550, code: "EENVELOPE", message: "550 <a@b.c> no such user" })).toEqual({
      permanent: true,
      code: "smtp_rejected",
      smtpCode: 550,
      message: "the mail server refused the message (SMTP 550)",
    });
    expect(classifySmtpError({ responseCode: 451, code: "EENVELOPE" })).toMatchObject({ permanent: false, code: "smtp_deferred", smtpCode: 451 });
    expect(classifySmtpError({ code: "ESOCKET" })).toMatchObject({ permanent: false, code: "smtp_unreachable" });
    expect(classifySmtpError({ code: "EAUTH", responseCode: 535 })).toMatchObject({ permanent: false, code: "smtp_auth" });
    expect(JSON.stringify(classifySmtpError({ responseCode: 554, message: "x@y.z" }))).not.toContain("x@y.z");
  });

  it("matches the BullMQ limiter to the SMTP rate", () => {
    expect(limiterFor(10)).toEqual({ max: 10, duration: 1000 });
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(2.5)).toEqual({ max: 3, duration: 1200 });
    expect(mailDomain("Shop <privacy@shop.example>")).toBe("shop.example");
    expect(mailDomain("nobody")).toBe("localhost");
    expect([humanSize(999), humanSize(7712), humanSize(17_049_000)]).toEqual(["999 bytes", "7.7 kB", "17.0 MB"]);
  });
});
