import {
  FINAL_STATUSES,
  INCIDENT_STATUSES,
  isClockRunning,
  nextStatuses,
  StatusTransitionError,
  transition,
  TRANSITIONS,
  type IncidentStatus,
  type TransitionFacts,
} from "../../../src/breach/status";

const BOTH = { notifyAuthority: true, notifySubjects: true, publicNotice: false };
const AUTHORITY_ONLY = { notifyAuthority: true, notifySubjects: false, publicNotice: false };
const NOBODY = { notifyAuthority: false, notifySubjects: false, publicNotice: false };
const PEOPLE_ONLY = { notifyAuthority: false, notifySubjects: true, publicNotice: false };
const PUBLIC_NOTICE = { notifyAuthority: true, notifySubjects: false, publicNotice: true };

const facts = (over: Partial<TransitionFacts> = {}): TransitionFacts => ({
  decision: null,
  authorityNotified: false,
  latestReportComplete: false,
  withdrawalFiled: false,
  subjectsNotified: false,
  rationale: null,
  ...over,
});

describe("allowed transitions", () => {
  const ok: [string, IncidentStatus, IncidentStatus, Partial<TransitionFacts>][] = [
    ["assessment recorded", "open", "assessed", { decision: BOTH }],
    ["not a breach after a first look", "open", "not_a_breach", { rationale: "The file held no personal data." }],
    ["initial report submitted", "assessed", "authority_notified", { decision: BOTH, authorityNotified: true }],
    ["nobody to tell: close at once", "assessed", "closed", { decision: NOBODY }],
    ["people told, authority not (justified)", "assessed", "subjects_notified", { decision: PEOPLE_ONLY, subjectsNotified: true }],
    ["not a breach after assessment", "assessed", "not_a_breach", { decision: BOTH, rationale: "Synthetic test data only." }],
    ["people told after the authority", "authority_notified", "subjects_notified", { decision: BOTH, authorityNotified: true, subjectsNotified: true }],
    ["public notice given", "authority_notified", "subjects_notified", { decision: PUBLIC_NOTICE, authorityNotified: true, subjectsNotified: true }],
    ["authority only, complete report", "authority_notified", "closed", { decision: AUTHORITY_ONLY, authorityNotified: true, latestReportComplete: true }],
    [
      "withdrawn after notifying",
      "authority_notified",
      "not_a_breach",
      { decision: BOTH, authorityNotified: true, withdrawalFiled: true, rationale: "The records were fake." },
    ],
    ["all done", "subjects_notified", "closed", { decision: BOTH, authorityNotified: true, latestReportComplete: true, subjectsNotified: true }],
    ["all done without the authority", "subjects_notified", "closed", { decision: PEOPLE_ONLY, subjectsNotified: true }],
    ["people told before the authority, then reported", "assessed", "authority_notified", { decision: BOTH, authorityNotified: true, subjectsNotified: true }],
  ];

  it.each(ok)("%s: %s → %s", (_name, from, to, over) => {
    expect(transition(from, to, facts(over))).toBe(to);
  });
});

describe("guards refuse with the reason", () => {
  const bad: [string, IncidentStatus, IncidentStatus, Partial<TransitionFacts>, string][] = [
    ["assessed without decision", "open", "assessed", {}, "no decision is recorded"],
    ["not a breach without rationale", "open", "not_a_breach", { rationale: "  " }, "a rationale is required"],
    ["authority notified without a report", "assessed", "authority_notified", { decision: BOTH }, "no report was submitted"],
    [
      "authority notified against the decision",
      "assessed",
      "authority_notified",
      { decision: NOBODY, authorityNotified: true },
      "the decision does not notify the authority",
    ],
    ["closed although the authority must be told", "assessed", "closed", { decision: AUTHORITY_ONLY }, "the decision requires notifying the authority"],
    ["closed although the people must be told", "assessed", "closed", { decision: PEOPLE_ONLY }, "the decision requires telling the people"],
    [
      "skipping the authority the decision requires",
      "assessed",
      "subjects_notified",
      { decision: BOTH, subjectsNotified: true },
      "the decision requires notifying the authority first",
    ],
    ["people not all told yet", "authority_notified", "subjects_notified", { decision: BOTH, authorityNotified: true }, "not all people were told"],
    [
      "people notified when the decision says not",
      "authority_notified",
      "subjects_notified",
      { decision: AUTHORITY_ONLY, authorityNotified: true, subjectsNotified: true },
      "does not tell the people",
    ],
    ["closed with fields to follow", "authority_notified", "closed", { decision: AUTHORITY_ONLY, authorityNotified: true }, "fields to follow"],
    [
      "closed with people untold after a revised decision",
      "authority_notified",
      "closed",
      { decision: BOTH, authorityNotified: true, latestReportComplete: true },
      "telling the people",
    ],
    [
      "not a breach without withdrawing the report",
      "authority_notified",
      "not_a_breach",
      { decision: BOTH, authorityNotified: true, rationale: "Fake data." },
      "withdrawal",
    ],
    [
      "not a breach after people were told, report not withdrawn",
      "subjects_notified",
      "not_a_breach",
      { decision: BOTH, authorityNotified: true, rationale: "Fake." },
      "withdrawal",
    ],
  ];

  it.each(bad)("%s", (_name, from, to, over, reason) => {
    let error: unknown;
    try {
      transition(from, to, facts(over));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StatusTransitionError);
    expect((error as Error).message).toContain(`incident cannot move from ${from} to ${to}: `);
    expect((error as Error).message).toContain(reason);
  });
});

describe("the table", () => {
  const allowed = new Set(TRANSITIONS.map((t) => `${t.from}>${t.to}`));
  const permissive = facts({
    decision: BOTH,
    authorityNotified: true,
    latestReportComplete: true,
    withdrawalFiled: true,
    subjectsNotified: true,
    rationale: "x",
  });

  const pairs = INCIDENT_STATUSES.flatMap((from) => INCIDENT_STATUSES.map((to) => [from, to] as const)).filter(([f, t]) => !allowed.has(`${f}>${t}`));
  it.each(pairs)("refuses %s → %s whatever the facts", (from, to) => {
    expect(() => transition(from, to, permissive)).toThrow(StatusTransitionError);
  });

  it("has no way out of a final status", () => {
    for (const s of FINAL_STATUSES) expect(nextStatuses(s)).toEqual([]);
    expect(() => transition("closed", "open", permissive)).toThrow("closed is final");
  });

  it("lists the possible moves in a refusal", () => {
    expect(() => transition("open", "closed", permissive)).toThrow("not an allowed transition (from open: assessed, not_a_breach)");
  });

  it("never closes an incident that was not assessed", () => {
    expect(TRANSITIONS.some((t) => t.from === "open" && t.to === "closed")).toBe(false);
  });

  it("has one rule per pair", () => {
    expect(allowed.size).toBe(TRANSITIONS.length);
  });
});

describe("isClockRunning", () => {
  it.each([
    ["open, undecided", "open", { decision: null, authorityNotified: false }, true],
    ["assessed, authority to be told", "assessed", { decision: BOTH, authorityNotified: false }, true],
    ["assessed, authority need not be told", "assessed", { decision: NOBODY, authorityNotified: false }, false],
    ["assessed, people told first, authority not yet", "assessed", { decision: BOTH, authorityNotified: false }, true],
    ["authority notified", "authority_notified", { decision: BOTH, authorityNotified: true }, false],
    ["subjects notified", "subjects_notified", { decision: PEOPLE_ONLY, authorityNotified: false }, false],
    ["closed", "closed", { decision: null, authorityNotified: false }, false],
    ["not a breach", "not_a_breach", { decision: null, authorityNotified: false }, false],
  ] as const)("%s → %s", (_name, status, f, running) => {
    expect(isClockRunning(status, f)).toBe(running);
  });
});
