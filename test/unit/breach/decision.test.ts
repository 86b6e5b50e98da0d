import { recordDecision, requiresSubjectCommunication, suggestDecision } from "../../../src/breach/decision";
import { assessSeverity, SEVERITY_METHOD_VERSION, type SeverityBand } from "../../../src/breach/severity";
import { inputErrorFields, inputErrorMessage } from "./expect-input-error";

const NOW = new Date("2024-03-02T09:30:00Z");
const assessment = (band: SeverityBand) => ({ band, score: { low: 1.5, medium: 2.5, high: 3.5, very_high: 4.5 }[band], method: SEVERITY_METHOD_VERSION });

const decision = (over: Record<string, unknown> = {}) => ({
  notifyAuthority: true,
  notifySubjects: true,
  rationale: "Card numbers of 2,000 customers were exposed on a public bucket.",
  decidedBy: "op-17",
  ...over,
});

describe("suggestDecision", () => {
  it.each([
    ["low", false, false],
    ["medium", true, false],
    ["high", true, true],
    ["very_high", true, true],
  ] as const)("%s → authority %s, people %s", (band, notifyAuthority, notifySubjects) => {
    expect(suggestDecision(band)).toEqual({ notifyAuthority, notifySubjects });
  });
});

describe("recordDecision accepts", () => {
  const ok: [string, SeverityBand, Record<string, unknown>, { field: string; direction: string }[]][] = [
    ["low: record only", "low", { notifyAuthority: false, notifySubjects: false }, []],
    ["medium: the authority only", "medium", { notifySubjects: false }, []],
    ["high: both", "high", {}, []],
    [
      "high: not the people, justified in writing",
      "high",
      { notifySubjects: false, deviationJustification: "Only hashed values leaked." },
      [{ field: "notifySubjects", direction: "below" }],
    ],
    [
      "high: not the people, data unintelligible",
      "high",
      { notifySubjects: false, subjectExemption: "data_unintelligible", exemptionRationale: "AES-256 disk encryption; the key stayed in the HSM." },
      [{ field: "notifySubjects", direction: "below" }],
    ],
    [
      "very high: not the people, risk removed",
      "very_high",
      { notifySubjects: false, subjectExemption: "risk_removed", exemptionRationale: "The only copy was recovered before it was read." },
      [{ field: "notifySubjects", direction: "below" }],
    ],
    [
      "very high: disproportionate effort, a public notice instead",
      "very_high",
      { notifySubjects: false, publicNotice: true, subjectExemption: "disproportionate_effort", exemptionRationale: "No contact data is held." },
      [{ field: "notifySubjects", direction: "below" }],
    ],
    [
      "very high: individual notices where possible plus a public notice",
      "very_high",
      { publicNotice: true, subjectExemption: "disproportionate_effort", exemptionRationale: "12 % of addresses bounce." },
      [],
    ],
    ["low: telling the authority anyway needs no justification", "low", { notifySubjects: false }, [{ field: "notifyAuthority", direction: "above" }]],
    [
      "low: telling everyone anyway",
      "low",
      {},
      [
        { field: "notifyAuthority", direction: "above" },
        { field: "notifySubjects", direction: "above" },
      ],
    ],
    [
      "medium: people told, authority not, justified",
      "medium",
      { notifyAuthority: false, deviationJustification: "The authority confirmed by phone no report is needed." },
      [
        { field: "notifyAuthority", direction: "below" },
        { field: "notifySubjects", direction: "above" },
      ],
    ],
  ];

  it.each(ok)("%s", (_name, band, over, deviations) => {
    const d = recordDecision(decision(over), assessment(band), NOW);
    expect(d.deviations.map(({ field, direction }) => ({ field, direction }))).toEqual(deviations);
    expect(d.suggested).toEqual(suggestDecision(band));
    expect(d.severity).toEqual(assessment(band));
    expect(d.decidedAt).toBe("2024-03-02T09:30:00.000Z");
  });

  it("fills defaults and keeps the texts trimmed", () => {
    const d = recordDecision(decision({ rationale: "   A careful rationale.  " }), assessment("high"), NOW);
    expect(d.publicNotice).toBe(false);
    expect(d.subjectExemption).toBeNull();
    expect(d.rationale).toBe("A careful rationale.");
  });

  it("answers a real assessment", () => {
    const a = assessSeverity({
      dataCategories: [{ category: "financial", label: "cards" }],
      ease: "maximum",
      confidentiality: "unknown_recipients",
      integrity: "not_affected",
      availability: "not_affected",
      maliciousIntent: true,
    });
    expect(a.band).toBe("very_high");
    expect(recordDecision(decision(), a, NOW).severity).toEqual({ band: "very_high", score: 4, method: SEVERITY_METHOD_VERSION });
  });
});

describe("recordDecision refuses, naming the field", () => {
  const bad: [string, SeverityBand, Record<string, unknown>, string][] = [
    ["high: not telling the people without a word", "high", { notifySubjects: false }, "deviationJustification"],
    ["very high: not telling the people without a word", "very_high", { notifySubjects: false }, "deviationJustification"],
    ["medium: not telling the authority without a word", "medium", { notifyAuthority: false, notifySubjects: false }, "deviationJustification"],
    [
      "high: not telling anyone, exemption covers only the people",
      "high",
      { notifyAuthority: false, notifySubjects: false, subjectExemption: "data_unintelligible", exemptionRationale: "Encrypted." },
      "deviationJustification",
    ],
    ["an exemption without rationale", "high", { notifySubjects: false, subjectExemption: "data_unintelligible" }, "exemptionRationale"],
    ["a rationale for no exemption", "high", { exemptionRationale: "Because." }, "exemptionRationale"],
    ["unintelligible data but people told", "high", { subjectExemption: "data_unintelligible", exemptionRationale: "Encrypted." }, "subjectExemption"],
    [
      "risk removed but a public notice",
      "high",
      { notifySubjects: false, publicNotice: true, subjectExemption: "risk_removed", exemptionRationale: "Recovered." },
      "subjectExemption",
    ],
    [
      "disproportionate effort without a public notice",
      "high",
      { notifySubjects: false, subjectExemption: "disproportionate_effort", exemptionRationale: "No addresses." },
      "publicNotice",
    ],
    ["people told, authority not, no justification", "low", { notifyAuthority: false }, "deviationJustification"],
    ["a public notice without telling the authority", "low", { notifyAuthority: false, notifySubjects: false, publicNotice: true }, "deviationJustification"],
    ["a rationale too short", "high", { rationale: "ok" }, "rationale"],
    ["a blank rationale", "high", { rationale: "          " }, "rationale"],
    ["no rationale", "high", { rationale: undefined }, "rationale"],
    ["no decider", "high", { decidedBy: undefined }, "decidedBy"],
    ["an unknown exemption", "high", { subjectExemption: "too_busy" }, "subjectExemption"],
    ["notifySubjects as text", "high", { notifySubjects: "yes" }, "notifySubjects"],
    ["an unknown field", "high", { notifyPress: true }, "notifyPress"],
  ];

  it.each(bad)("%s", (_name, band, over, field) => {
    expect(inputErrorFields(() => recordDecision(decision(over), assessment(band), NOW))).toContain(field);
  });

  it("says which suggestion is not followed", () => {
    expect(inputErrorMessage(() => recordDecision(decision({ notifySubjects: false }), assessment("high"), NOW))).toContain(
      "the severity suggests notifySubjects: true; deciding otherwise needs a written justification",
    );
  });

  it("refuses an assessment with an unknown band", () => {
    expect(inputErrorFields(() => recordDecision(decision(), { band: "extreme" as SeverityBand, score: 9, method: "x" }, NOW))).toEqual(["severity.band"]);
  });
});

describe("requiresSubjectCommunication", () => {
  it.each([
    [false, false, false],
    [true, false, true],
    [false, true, true],
    [true, true, true],
  ])("notifySubjects %s, publicNotice %s → %s", (notifySubjects, publicNotice, expected) => {
    expect(requiresSubjectCommunication({ notifySubjects, publicNotice })).toBe(expected);
  });
});
