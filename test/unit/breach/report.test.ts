import { toFollowPaths, validateReport, type Report } from "../../../src/breach/report";
import { diffReports } from "../../../src/breach/report-diff";
import { inputErrorFields, inputErrorMessage } from "./expect-input-error";
import { completingFollowUp, initialWithGaps, TF } from "./report-fixtures";

const v1 = (): Report => validateReport(null, initialWithGaps());
const v2 = (): Report => validateReport(v1(), completingFollowUp());

describe("the first version", () => {
  it("may be an initial report with gaps", () => {
    expect(toFollowPaths(v1())).toEqual(["nature.approxSubjects", "consequences", "measures.proposed"]);
  });

  it("may be complete at once", () => {
    const r = validateReport(null, { ...completingFollowUp(), version: 1, kind: "initial", submittedAt: "2024-03-02T06:00:00Z" });
    expect(toFollowPaths(r)).toEqual([]);
  });

  it("may be submitted late with the reasons for the delay", () => {
    const r = validateReport(null, initialWithGaps({ submittedAt: "2024-03-05T10:00:00Z", delayReasons: "Awaiting the host's logs." }));
    expect(r.kind === "initial" && r.delayReasons).toBe("Awaiting the host's logs.");
  });

  it("may be submitted at the deadline without reasons", () => {
    expect(() => validateReport(null, initialWithGaps({ submittedAt: "2024-03-04T10:00:00Z" }))).not.toThrow();
  });

  it.each([
    ["late without reasons", initialWithGaps({ submittedAt: "2024-03-04T10:00:01Z" }), "delayReasons"],
    ["late with blank reasons", initialWithGaps({ submittedAt: "2024-03-06T00:00:00Z", delayReasons: "  " }), "delayReasons"],
    ["final with gaps", initialWithGaps({ final: true }), "nature.approxSubjects"],
    ["a follow-up first", { ...initialWithGaps(), kind: "follow_up" }, "kind"],
    ["version 2 first", initialWithGaps({ version: 2 }), "version"],
    ["awareness before detection", initialWithGaps({ detectedAt: "2024-03-01T11:00:00Z" }), "awareAt"],
    ["no kind of breach", initialWithGaps({ nature: { ...(initialWithGaps().nature as object), kinds: [] } }), "nature.kinds"],
    ["a negative count", initialWithGaps({ nature: { ...(initialWithGaps().nature as object), approxRecords: -1 } }), "nature.approxRecords"],
    ["a fractional count", initialWithGaps({ nature: { ...(initialWithGaps().nature as object), approxRecords: 1.5 } }), "nature.approxRecords"],
    ["an empty description", initialWithGaps({ nature: { ...(initialWithGaps().nature as object), description: " " } }), "nature.description"],
    ["a contact with no channel", initialWithGaps({ contact: { name: "DPO" } }), "contact.email"],
    ["a contact with a bad e-mail", initialWithGaps({ contact: { name: "DPO", email: "not-an-address" } }), "contact.email"],
    ["a malformed to-follow marker", initialWithGaps({ consequences: { toFollow: false } }), "consequences.toFollow"],
    ["a bad date", initialWithGaps({ submittedAt: "yesterday" }), "submittedAt"],
    ["an unknown field", initialWithGaps({ severity: "high" }), "severity"],
    ["an unknown kind", initialWithGaps({ kind: "draft" }), "kind"],
  ])("refuses %s", (_name, input, field) => {
    expect(inputErrorFields(() => validateReport(null, input))).toContain(field);
  });

  it("explains a late report", () => {
    expect(inputErrorMessage(() => validateReport(null, initialWithGaps({ submittedAt: "2024-03-05T00:00:00Z" })))).toContain(
      "the notification comes 86 h after awareness, past the 72 h deadline; give the reasons for the delay",
    );
  });
});

describe("follow-ups and withdrawals", () => {
  it("a follow-up fills the gaps and may be declared final", () => {
    expect(toFollowPaths(v2())).toEqual([]);
  });

  it("a non-final follow-up may keep gaps", () => {
    const r = validateReport(v1(), { ...completingFollowUp(), final: false, consequences: TF });
    expect(toFollowPaths(r)).toEqual(["consequences"]);
  });

  it("a complete report may be corrected by another complete follow-up", () => {
    const r = validateReport(v2(), completingFollowUp({ version: 3, submittedAt: "2024-03-06T00:00:00Z", consequences: "Phishing; no fraud seen." }));
    expect(r.version).toBe(3);
  });

  it("a withdrawal carries a reason", () => {
    const r = validateReport(v1(), {
      incidentId: "inc_01HX",
      version: 2,
      kind: "withdrawal",
      submittedAt: "2024-03-03T00:00:00Z",
      detectedAt: "2024-03-01T08:00:00Z",
      awareAt: "2024-03-01T10:00:00Z",
      reason: "The published file held generated test data only.",
    });
    expect(r.kind).toBe("withdrawal");
  });

  const withdrawal = (over: Record<string, unknown> = {}) => ({
    incidentId: "inc_01HX",
    version: 2,
    kind: "withdrawal",
    submittedAt: "2024-03-03T00:00:00Z",
    detectedAt: "2024-03-01T08:00:00Z",
    awareAt: "2024-03-01T10:00:00Z",
    reason: "Test data only.",
    ...over,
  });

  it.each([
    ["a second initial report", () => validateReport(v1(), { ...completingFollowUp(), kind: "initial" }), "kind"],
    ["a skipped version", () => validateReport(v1(), completingFollowUp({ version: 3 })), "version"],
    ["another incident's version", () => validateReport(v1(), completingFollowUp({ incidentId: "inc_other" })), "incidentId"],
    ["a version submitted before the previous", () => validateReport(v1(), completingFollowUp({ submittedAt: "2024-03-02T05:00:00Z" })), "submittedAt"],
    ["a moved awareness", () => validateReport(v1(), completingFollowUp({ awareAt: "2024-03-01T20:00:00Z" })), "awareAt"],
    ["a moved detection", () => validateReport(v1(), completingFollowUp({ detectedAt: "2024-03-01T07:00:00Z" })), "detectedAt"],
    [
      "a given field back to follow",
      () => validateReport(v1(), { ...completingFollowUp(), final: false, measures: { taken: TF, proposed: TF } }),
      "measures.taken",
    ],
    [
      "a complete report regressing",
      () => validateReport(v2(), { ...completingFollowUp({ version: 3, submittedAt: "2024-03-06T00:00:00Z" }), final: false }),
      "final",
    ],
    ["a final follow-up with gaps", () => validateReport(v1(), completingFollowUp({ consequences: TF })), "consequences"],
    ["a withdrawal without reason", () => validateReport(v1(), withdrawal({ reason: "" })), "reason"],
    ["a withdrawal with content", () => validateReport(v1(), withdrawal({ consequences: "x" })), "consequences"],
    ["a withdrawal as the first version", () => validateReport(null, withdrawal({ version: 1 })), "kind"],
    ["anything after a withdrawal", () => validateReport(validateReport(v1(), withdrawal()), completingFollowUp({ version: 3 })), "kind"],
  ])("refuses %s", (_name, fn, field) => {
    expect(inputErrorFields(fn)).toContain(field);
  });
});

describe("diffReports", () => {
  it("lists what a follow-up changed, with before and after", () => {
    expect(diffReports(v1(), v2())).toEqual([
      { path: "final", before: false, after: true },
      { path: "nature.approxSubjects", before: TF, after: 4200 },
      { path: "nature.approxRecords", before: 12000, after: 12500 },
      { path: "consequences", before: TF, after: "Phishing using order details is likely." },
      { path: "measures.proposed", before: { toFollow: true, expectedBy: "2024-03-05T00:00:00Z" }, after: "Review of every public export." },
    ]);
  });

  it("compares lists and nested objects as values, ignoring key order", () => {
    const a = v2();
    const b = validateReport(a, {
      ...completingFollowUp({ version: 3, submittedAt: "2024-03-06T00:00:00Z" }),
      nature: {
        ...(completingFollowUp().nature as object),
        dataCategories: ["contact", "order history", "payment"],
        approxSubjects: 4200,
        approxRecords: 12500,
      },
      contact: { email: "dpo@shop.example", name: "Data Protection Officer" },
    });
    expect(diffReports(a, b)).toEqual([
      { path: "nature.dataCategories", before: ["contact", "order history"], after: ["contact", "order history", "payment"] },
    ]);
  });

  it("reports fields present on one side only", () => {
    const late = validateReport(null, initialWithGaps({ submittedAt: "2024-03-05T00:00:00Z", delayReasons: "Logs." }));
    const next = validateReport(late, completingFollowUp({ submittedAt: "2024-03-06T00:00:00Z" }));
    expect(diffReports(late, next)).toContainEqual({ path: "delayReasons", before: "Logs." });
  });

  it("is empty between identical content, whatever the version metadata", () => {
    expect(diffReports(v2(), validateReport(v2(), completingFollowUp({ version: 3, submittedAt: "2024-03-07T00:00:00Z" })))).toEqual([]);
  });
});
