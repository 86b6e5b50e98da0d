import { simpleParser } from "mailparser";
import { isPlainAddress, PreparedMessage } from "../../src/mail/prepared-message";

/** A notice built once and sent to many: each copy parses as the message nodemailer would have built for that person. */
describe("prepared message", () => {
  const shared = {
    from: "Shop <privacy@shop.example>",
    subject: "Wichtige Information über Ihre Daten — bitte lesen",
    text: "Hallo,\n.leading dot\nGrüße",
    html: "<p>Hallo, Grüße</p>",
    headers: { "Auto-Submitted": "auto-generated", "X-Lethe-Incident": "BR-2025-0001", "Content-Language": "de" },
    perRecipient: ["X-Lethe-Notification-Id"],
  };

  it("renders each recipient's own To, Message-ID, Date and headers over the shared encoded body", async () => {
    const m = await PreparedMessage.build(shared);
    const date = new Date("2026-01-02T03:04:05Z");
    const a = await simpleParser(m.render("person1@example.test", "<notice-1@shop.example>", { "X-Lethe-Notification-Id": "id-1" }, date));
    const b = await simpleParser(m.render("person2@example.test", "<notice-2@shop.example>", { "X-Lethe-Notification-Id": "id-2" }));
    expect(a.to).toMatchObject({ text: "person1@example.test" });
    expect(b.to).toMatchObject({ text: "person2@example.test" });
    expect(a.messageId).toBe("<notice-1@shop.example>");
    expect(a.headers.get("x-lethe-notification-id")).toBe("id-1");
    expect(b.headers.get("x-lethe-notification-id")).toBe("id-2");
    expect(a.headers.get("x-lethe-incident")).toBe("BR-2025-0001");
    expect(a.headers.get("content-language")).toBe("de");
    expect(a.headers.get("auto-submitted")).toBe("auto-generated");
    expect(a.date?.toISOString()).toBe(date.toISOString());
    expect(a.subject).toBe(shared.subject);
    expect(a.text?.trim()).toBe(shared.text);
    expect(a.html).toContain("Grüße");
    expect(a.from).toMatchObject({ text: '"Shop" <privacy@shop.example>' });
  });

  it("refuses what it cannot write into a header as it is", async () => {
    const m = await PreparedMessage.build(shared);
    expect(isPlainAddress("person1@example.test")).toBe(true);
    expect(isPlainAddress("jöran@example.test")).toBe(false);
    expect(isPlainAddress('"a b"@example.test')).toBe(false);
    expect(() => m.render("a\r\nBcc: x@y.test", "<n@x>", {})).toThrow("plain address");
    expect(() => m.render("p@example.test", "<n@x>", { "X-Lethe-Notification-Id": "a\r\nBcc: x@y.test" })).toThrow("printable ASCII");
  });
});
