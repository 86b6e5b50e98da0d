import {
  authorityDeadline,
  awarenessErrors,
  checkNotificationTiming,
  clockMark,
  isLate,
  marksReached,
  readClock,
  secondsLeft,
  type ClockMark,
} from "../../../src/breach/clock";
import { inputErrorFields, inputErrorMessage } from "./expect-input-error";

const AWARE = new Date("2024-03-01T10:00:00Z");
const H = 3_600_000;
const at = (ms: number) => new Date(AWARE.getTime() + ms);

describe("authorityDeadline", () => {
  it("is awareness + 72 h", () => {
    expect(authorityDeadline(AWARE).toISOString()).toBe("2024-03-04T10:00:00.000Z");
  });

  it("counts hours, not calendar days, across a daylight-saving change", () => {
    expect(authorityDeadline(new Date("2024-03-30T12:00:00+01:00")).toISOString()).toBe("2024-04-02T11:00:00.000Z");
  });

  it("refuses an invalid date", () => {
    expect(inputErrorFields(() => authorityDeadline(new Date("not a date")))).toEqual(["awareAt"]);
  });
});

describe("the clock at a given moment", () => {
  const cases: [string, number, number, ClockMark][] = [
    ["at awareness", 0, 72 * 3600, "running"],
    ["one second before 24 h left", 48 * H - 1000, 24 * 3600 + 1, "running"],
    ["24 h left", 48 * H, 24 * 3600, "24h_left"],
    ["one second before 6 h left", 66 * H - 1000, 6 * 3600 + 1, "24h_left"],
    ["6 h left", 66 * H, 6 * 3600, "6h_left"],
    ["at the deadline (still in time)", 72 * H, 0, "6h_left"],
    ["a millisecond late", 72 * H + 1, -1, "overdue"],
    ["eight hours late", 80 * H, -8 * 3600, "overdue"],
    ["before awareness (clock set early)", -H, 73 * 3600, "running"],
  ];

  it.each(cases)("%s", (_name, offset, seconds, mark) => {
    expect(secondsLeft(AWARE, at(offset))).toBe(seconds);
    expect(clockMark(AWARE, at(offset))).toBe(mark);
    expect(readClock(AWARE, at(offset))).toEqual({ deadline: authorityDeadline(AWARE), secondsLeft: seconds, mark });
  });

  it("floors partial seconds toward the deadline", () => {
    expect(secondsLeft(AWARE, at(1500))).toBe(72 * 3600 - 2);
  });
});

describe("marksReached: each mark logged once, none skipped", () => {
  it.each([
    ["running", "running", []],
    ["running", "24h_left", ["24h_left"]],
    ["running", "overdue", ["24h_left", "6h_left", "overdue"]],
    ["24h_left", "6h_left", ["6h_left"]],
    ["6h_left", "overdue", ["overdue"]],
    ["overdue", "overdue", []],
    ["overdue", "running", []],
  ] as const)("%s → %s", (from, to, expected) => {
    expect(marksReached(from, to)).toEqual(expected);
  });
});

describe("isLate", () => {
  it.each([
    [71 * H, false],
    [72 * H, false],
    [72 * H + 1, true],
    [100 * H, true],
  ])("%d ms after awareness → %s", (offset, late) => {
    expect(isLate(AWARE, at(offset))).toBe(late);
  });
});

describe("checkNotificationTiming: a late notification carries reasons for the delay", () => {
  it.each([
    ["in time, no reasons", 70 * H, undefined],
    ["at the deadline, no reasons", 72 * H, null],
    ["late with reasons", 90 * H, "The forensic firm needed four days to confirm personal data was involved."],
  ])("accepts %s", (_name, offset, reasons) => {
    expect(() => checkNotificationTiming(AWARE, at(offset), reasons)).not.toThrow();
  });

  it.each([
    ["late, no reasons", 90 * H, undefined],
    ["late, null", 73 * H, null],
    ["late, blank reasons", 73 * H, "   "],
  ])("refuses %s", (_name, offset, reasons) => {
    expect(inputErrorFields(() => checkNotificationTiming(AWARE, at(offset), reasons))).toEqual(["delayReasons"]);
  });

  it("says how late it is", () => {
    expect(inputErrorMessage(() => checkNotificationTiming(AWARE, at(90 * H), undefined))).toContain("90 h after awareness");
  });
});

describe("awarenessErrors", () => {
  const NOW = at(5 * H);
  it.each([
    ["detection before awareness", { detectedAt: at(-2 * H), awareAt: AWARE }, []],
    ["detection and awareness together", { detectedAt: AWARE, awareAt: AWARE }, []],
    ["awareness before detection", { detectedAt: at(H), awareAt: AWARE }, ["awareAt"]],
    ["awareness in the future", { detectedAt: AWARE, awareAt: at(6 * H) }, ["awareAt"]],
    ["detection in the future", { detectedAt: at(6 * H), awareAt: at(7 * H) }, ["detectedAt", "awareAt"]],
    ["an invalid date", { detectedAt: new Date(Number.NaN), awareAt: AWARE }, ["detectedAt"]],
  ])("%s", (_name, t, fields) => {
    expect(awarenessErrors(t, NOW).map((e) => e.field)).toEqual(fields);
  });
});
