import { progressLine } from "../../../src/cli/progress-bar";
import { csvCell, registerCsv, REGISTER_CSV_COLUMNS } from "../../../src/incidents/register-export";
import { isThrottled, redactSmtpAnswer, replyCodeOf } from "../../../src/mail/throttle";

describe("register CSV cells", () => {
  it.each([
    [null, ""],
    [undefined, ""],
    [42, "42"],
    [-3, "-3"],
    [true, "true"],
    ["plain", "plain"],
    ['with "quotes", commas', '"with ""quotes"", commas"'],
    ["two\nlines", '"two\nlines"'],
    ["=HYPERLINK(1)", "'=HYPERLINK(1)"],
    ["+1", "'+1"],
    ["@sum", "'@sum"],
  ])("%p → %p", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("an empty register is the header line alone", () => {
    expect(registerCsv([])).toBe(`${REGISTER_CSV_COLUMNS.map(([n]) => n).join(",")}\r\n`);
  });
});

describe("SMTP answers", () => {
  it("removes addresses and control characters, keeps the code", () => {
    expect(redactSmtpAnswer("550 5.1.1 <alice@example.com>: Recipient address rejected\r\n")).toBe("550 5.1.1 <<address>>: Recipient address rejected");
    expect(redactSmtpAnswer("250 2.0.0 Ok: queued as 4F1C2 for bob@example.org")).toBe("250 2.0.0 Ok: queued as 4F1C2 for <address>");
    expect(redactSmtpAnswer(undefined)).toBeNull();
    expect(redactSmtpAnswer("x".repeat(400))).toHaveLength(300);
    expect(replyCodeOf("250 2.0.0 Ok")).toBe(250);
    expect(replyCodeOf("250-PIPELINING")).toBe(250);
    expect(replyCodeOf("ok")).toBeNull();
  });

  it("421 and 454 throttle; other codes do not", () => {
    expect(isThrottled({ responseCode: 421 })).toBe(true);
    expect(isThrottled({ responseCode: 454 })).toBe(true);
    expect(isThrottled({ responseCode: 451 })).toBe(false);
    expect(isThrottled({ code: "ECONNRESET" })).toBe(false);
    expect(isThrottled(null)).toBe(false);
  });
});

describe("the CLI's progress bar", () => {
  it("counts sent and undeliverable as done", () => {
    expect(progressLine({ total: 10, sent: 4, undeliverable: 1, pending: 5, state: "running" })).toBe(
      "[###############---------------] 5/10  50%  sent 4 · undeliverable 1 · pending 5 (running)",
    );
    expect(progressLine({ total: 0, sent: 0, undeliverable: 0, pending: 0, state: "done" })).toContain("0/0 100%");
  });
});
