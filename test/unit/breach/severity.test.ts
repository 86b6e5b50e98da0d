import { affectedKinds, assessSeverity, dpcOfCategory, SEVERITY_METHOD_VERSION, severityBand, type SeverityInput } from "../../../src/breach/severity";
import { inputErrorFields, inputErrorMessage } from "./expect-input-error";

type Input = Omit<SeverityInput, "dataCategories"> & { dataCategories: { category: string; label: string; adjustments?: unknown[] }[] };

const base: Input = {
  dataCategories: [{ category: "simple", label: "customers: name, address" }],
  ease: "maximum",
  confidentiality: "unknown_recipients",
  integrity: "not_affected",
  availability: "not_affected",
  maliciousIntent: false,
};

const adj = (factor: string, delta: number) => ({ factor, delta, reason: `because ${factor}` });

describe("assessSeverity: SE = DPC × EI + CB", () => {
  // Scores worked by hand from the method's scales; each row changes only what it names.
  const cases: [string, Partial<Input>, number, number, number, string][] = [
    // name, overrides, DPC, CB, SE, band
    ["customer list published (simple, directly identifiable)", {}, 1, 0.5, 1.5, "low"],
    ["same list stolen on purpose", { maliciousIntent: true }, 1, 1, 2, "medium"],
    [
      "full card data of a year, stolen",
      { dataCategories: [{ category: "financial", label: "cards", adjustments: [adj("volume", 1)] }], maliciousIntent: true },
      4,
      1,
      5,
      "very_high",
    ],
    [
      "health data hard to link, temporarily unavailable",
      { dataCategories: [{ category: "sensitive", label: "lab results" }], ease: "negligible", confidentiality: "not_affected", availability: "temporary" },
      4,
      0.25,
      1.25,
      "low",
    ],
    [
      "location history, known recipients, altered but recoverable",
      {
        dataCategories: [{ category: "behavioural", label: "trips" }],
        ease: "significant",
        confidentiality: "known_recipients",
        integrity: "altered_recoverable",
      },
      2,
      0.5,
      2,
      "medium",
    ],
    [
      "bank statements, limited identification, hacked",
      { dataCategories: [{ category: "financial", label: "statements" }], ease: "limited", maliciousIntent: true },
      3,
      1,
      2.5,
      "medium",
    ],
    [
      "sensitive, significant identification, exposed without evidence of access",
      { dataCategories: [{ category: "sensitive", label: "diagnoses" }], ease: "significant", confidentiality: "exposed_without_evidence" },
      4,
      0,
      3,
      "high",
    ],
    [
      "financial, all three losses at 0.25",
      {
        dataCategories: [{ category: "financial", label: "balances" }],
        confidentiality: "known_recipients",
        integrity: "altered_recoverable",
        availability: "temporary",
      },
      3,
      0.75,
      3.75,
      "high",
    ],
    [
      "sensitive, directly identifiable, no evidence of access",
      { dataCategories: [{ category: "sensitive", label: "x" }], confidentiality: "exposed_without_evidence" },
      4,
      0,
      4,
      "very_high",
    ],
    [
      "the maximum: every circumstance at its worst",
      {
        dataCategories: [{ category: "sensitive", label: "x" }],
        integrity: "altered_unrecoverable",
        availability: "permanent",
        maliciousIntent: true,
      },
      4,
      2,
      6,
      "very_high",
    ],
    ["the minimum: simple, negligible, recoverable", { ease: "negligible", confidentiality: "not_affected", availability: "recoverable" }, 1, 0, 0.25, "low"],
    [
      "adjustments above 4 are clamped",
      { dataCategories: [{ category: "simple", label: "pupils", adjustments: [adj("vulnerable_subjects", 3), adj("volume", 2)] }] },
      4,
      0.5,
      4.5,
      "very_high",
    ],
    [
      "adjustments below 1 are clamped",
      { dataCategories: [{ category: "simple", label: "phone book", adjustments: [adj("publicly_available", -2)] }] },
      1,
      0.5,
      1.5,
      "low",
    ],
    [
      "the nature of the data may lower a category (a generic health fact)",
      { dataCategories: [{ category: "sensitive", label: "had a blood test", adjustments: [adj("nature_of_data", -3)] }] },
      1,
      0.5,
      1.5,
      "low",
    ],
    [
      "several categories: the highest adjusted score counts",
      {
        dataCategories: [
          { category: "simple", label: "adult shop delivery list", adjustments: [adj("controller_characteristics", 2)] },
          { category: "financial", label: "expired cards", adjustments: [adj("invalid_or_inaccurate", -1)] },
        ],
      },
      3,
      0.5,
      3.5,
      "high",
    ],
  ];

  it.each(cases)("%s", (_name, overrides, dpc, cb, score, band) => {
    const a = assessSeverity({ ...base, ...overrides });
    expect(a.dpc.score).toBe(dpc);
    expect(a.cb.total).toBe(cb);
    expect(a.score).toBe(score);
    expect(a.band).toBe(band);
    expect(a.method).toBe(SEVERITY_METHOD_VERSION);
  });

  it("stores the validated inputs and every partial score", () => {
    const a = assessSeverity({
      ...base,
      dataCategories: [{ category: "financial", label: "cards", adjustments: [adj("volume", 1)] }],
      integrity: "altered_recoverable",
      maliciousIntent: true,
    });
    expect(a.inputs.dataCategories[0]!.adjustments[0]).toEqual({ factor: "volume", delta: 1, reason: "because volume" });
    expect(a.dpc.categories).toEqual([{ label: "cards", category: "financial", base: 3, adjustment: 1, score: 4 }]);
    expect(a.ei).toBe(1);
    expect(a.cb).toEqual({ confidentiality: 0.5, integrity: 0.25, availability: 0, maliciousIntent: 0.5, total: 1.25 });
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it("defaults adjustments to none", () => {
    expect(assessSeverity(base).inputs.dataCategories[0]!.adjustments).toEqual([]);
  });
});

describe("severityBand: low < 2 ≤ medium < 3 ≤ high < 4 ≤ very high", () => {
  it.each([
    [0.25, "low"],
    [1.99, "low"],
    [2, "medium"],
    [2.99, "medium"],
    [3, "high"],
    [3.99, "high"],
    [4, "very_high"],
    [6, "very_high"],
  ])("%d is %s", (score, band) => {
    expect(severityBand(score)).toBe(band);
  });

  it("refuses a non-finite score", () => {
    expect(() => severityBand(Number.NaN)).toThrow(RangeError);
  });
});

describe("dpcOfCategory", () => {
  it.each([
    ["simple", [], 1],
    ["behavioural", [], 2],
    ["financial", [], 3],
    ["sensitive", [], 4],
    ["behavioural", [{ delta: 1 }], 3],
    ["financial", [{ delta: 2 }, { delta: -1 }], 4],
    ["simple", [{ delta: -3 }], 1],
    ["sensitive", [{ delta: 3 }], 4],
  ] as const)("%s with %j is %d", (category, adjustments, expected) => {
    expect(dpcOfCategory(category, adjustments)).toBe(expected);
  });
});

describe("assessSeverity refuses bad input, naming the field", () => {
  const bad: [string, unknown, string][] = [
    ["an unknown ease", { ...base, ease: "total" }, "ease"],
    ["no data category", { ...base, dataCategories: [] }, "dataCategories"],
    ["an unknown category", { ...base, dataCategories: [{ category: "medical", label: "x" }] }, "dataCategories.0.category"],
    ["a category without label", { ...base, dataCategories: [{ category: "simple", label: "  " }] }, "dataCategories.0.label"],
    [
      "a raising factor used to lower",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("vulnerable_subjects", -1)] }] },
      "dataCategories.0.adjustments.0.delta",
    ],
    [
      "a lowering factor used to raise",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("publicly_available", 1)] }] },
      "dataCategories.0.adjustments.0.delta",
    ],
    [
      "a fractional delta",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("volume", 0.5)] }] },
      "dataCategories.0.adjustments.0.delta",
    ],
    [
      "a zero delta",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("volume", 0)] }] },
      "dataCategories.0.adjustments.0.delta",
    ],
    [
      "a delta beyond the scale",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("volume", 4)] }] },
      "dataCategories.0.adjustments.0.delta",
    ],
    [
      "an adjustment without reason",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [{ factor: "volume", delta: 1 }] }] },
      "dataCategories.0.adjustments.0.reason",
    ],
    [
      "an unknown factor",
      { ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("fame", 1)] }] },
      "dataCategories.0.adjustments.0.factor",
    ],
    ["an unknown confidentiality case", { ...base, confidentiality: "leaked" }, "confidentiality"],
    ["an unknown integrity case", { ...base, integrity: "changed" }, "integrity"],
    ["an unknown availability case", { ...base, availability: "gone" }, "availability"],
    ["malicious intent as text", { ...base, maliciousIntent: "yes" }, "maliciousIntent"],
    ["a missing field", { ...base, ease: undefined }, "ease"],
    ["an unknown field", { ...base, likelihood: 3 }, "likelihood"],
    ["no loss at all", { ...base, confidentiality: "not_affected" }, "confidentiality"],
  ];

  it.each(bad)("%s", (_name, input, field) => {
    expect(inputErrorFields(() => assessSeverity(input))).toContain(field);
  });

  it("says what was validated and why", () => {
    const msg = inputErrorMessage(() =>
      assessSeverity({ ...base, dataCategories: [{ category: "simple", label: "x", adjustments: [adj("vulnerable_subjects", -1)] }] }),
    );
    expect(msg).toContain("invalid severity assessment");
    expect(msg).toContain("factor vulnerable_subjects can only move the score up");
  });

  it("refuses something that is not an object", () => {
    expect(inputErrorFields(() => assessSeverity("high"))).toEqual(["(root)"]);
  });
});

describe("affectedKinds", () => {
  it.each([
    [{ confidentiality: "unknown_recipients", integrity: "not_affected", availability: "not_affected" }, ["confidentiality"]],
    [{ confidentiality: "not_affected", integrity: "altered_without_misuse", availability: "permanent" }, ["integrity", "availability"]],
    [
      { confidentiality: "exposed_without_evidence", integrity: "altered_recoverable", availability: "recoverable" },
      ["confidentiality", "integrity", "availability"],
    ],
  ] as const)("%j → %j", (input, kinds) => {
    expect(affectedKinds(input)).toEqual(kinds);
  });
});
