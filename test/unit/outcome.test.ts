import { completionEvent, isVerified, outcomeOf, resultOf } from "../../src/requests/outcome";
import { waitExitCode } from "../../src/cli/submit-and-wait";
import type { RequestView } from "../../src/requests/view";

/** Issue 9, item 4: the outcome rules, also for rows written before outcomes were recorded. */
describe("request outcomes", () => {
  it("a completed request's result records its outcome; verified only for a found, real erasure that re-checked every store", () => {
    expect(resultOf({ type: "erasure", dryRun: false, steps: [], subjectFound: false, verified: true })).toEqual({
      steps: [],
      subjectFound: false,
      outcome: "subject_not_found",
      verified: false,
    });
    expect(resultOf({ type: "erasure", dryRun: true, steps: [], subjectFound: true, verified: true })).toMatchObject({ outcome: "previewed", verified: false });
    expect(resultOf({ type: "erasure", dryRun: false, steps: [], subjectFound: true, verified: false })).toMatchObject({ outcome: "done", verified: false });
    expect(resultOf({ type: "erasure", dryRun: false, steps: [], subjectFound: true, verified: true })).toMatchObject({ outcome: "done", verified: true });
    expect(resultOf({ type: "export", dryRun: false, steps: [], subjectFound: true, verified: true })).toMatchObject({ outcome: "done", verified: false });
  });

  it("rows from before outcomes derive them; unfinished requests have none", () => {
    const legacy = (subjectFound: boolean, dryRun = false) => ({ type: "erasure", status: "completed", dryRun, result: { steps: [], subjectFound } });
    expect(outcomeOf(legacy(false))).toBe("subject_not_found");
    expect(isVerified(legacy(false))).toBe(false);
    expect(outcomeOf(legacy(true))).toBe("done");
    expect(isVerified(legacy(true))).toBe(true);
    expect(outcomeOf(legacy(true, true))).toBe("previewed");
    expect(isVerified(legacy(true, true))).toBe(false);
    expect(outcomeOf({ status: "running", dryRun: false, result: null })).toBeNull();
    expect(isVerified({ type: "erasure", status: "failed", dryRun: false, result: null })).toBe(false);
  });

  it("audit events and CLI exit codes name the outcome", () => {
    expect(completionEvent("erasure", "subject_not_found")).toBe("erasure.subject_not_found");
    expect(completionEvent("erasure", "previewed")).toBe("erasure.previewed");
    expect(completionEvent("export", "done")).toBe("export.completed");
    const view = (status: string, outcome: string | null) => ({ status, outcome }) as unknown as RequestView;
    expect(waitExitCode(view("completed", "subject_not_found"))).toBe(3);
    expect(waitExitCode(view("completed", "done"))).toBe(0);
    expect(waitExitCode(view("completed", "previewed"))).toBe(0);
    expect(waitExitCode(view("failed", null))).toBe(1);
    expect(waitExitCode(null)).toBe(1);
  });
});
