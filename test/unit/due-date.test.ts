import { dueDateFor } from "../../src/requests/due-date";

/** Art. 12(3): due dates in calendar months from receipt, clamped to the month's last day, extensions counted the same way. */
describe("due dates", () => {
  const due = (iso: string, months?: number) => dueDateFor(new Date(iso), months).toISOString();

  it("is the same date of the next month, at the same time", () => {
    expect(due("2025-03-14T09:30:00.000Z")).toBe("2025-04-14T09:30:00.000Z");
    expect(due("2025-12-05T00:00:00.000Z")).toBe("2026-01-05T00:00:00.000Z");
  });

  it("clamps to the last day of a shorter month", () => {
    expect(due("2025-01-31T12:00:00.000Z")).toBe("2025-02-28T12:00:00.000Z");
    expect(due("2025-03-31T12:00:00.000Z")).toBe("2025-04-30T12:00:00.000Z");
    expect(due("2025-08-31T23:59:59.000Z")).toBe("2025-09-30T23:59:59.000Z");
  });

  it("knows leap years: 29 February exists in 2024 and 2000, not in 2100", () => {
    expect(due("2024-01-31T08:00:00.000Z")).toBe("2024-02-29T08:00:00.000Z");
    expect(due("2024-01-29T08:00:00.000Z")).toBe("2024-02-29T08:00:00.000Z");
    expect(due("2024-02-29T08:00:00.000Z")).toBe("2024-03-29T08:00:00.000Z");
    expect(due("2000-01-30T08:00:00.000Z")).toBe("2000-02-29T08:00:00.000Z");
    expect(due("2100-01-29T08:00:00.000Z")).toBe("2100-02-28T08:00:00.000Z");
  });

  it("an extension of one or two further months counts from receipt, not from the first due date", () => {
    // Received 31 January: due 28 February; extended by two further months: receipt + 3 months = 30 April.
    expect(due("2025-01-31T10:00:00.000Z", 3)).toBe("2025-04-30T10:00:00.000Z");
    // Counting from the clamped first due date (28 February) would give 28 April: wrong.
    expect(due("2025-01-31T10:00:00.000Z", 2)).toBe("2025-03-31T10:00:00.000Z");
    expect(due("2023-11-30T10:00:00.000Z", 3)).toBe("2024-02-29T10:00:00.000Z");
    expect(due("2024-12-31T10:00:00.000Z", 2)).toBe("2025-02-28T10:00:00.000Z");
  });
});
