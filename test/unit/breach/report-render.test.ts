import { validateReport, type Report } from "../../../src/breach/report";
import { renderReportHtml, reportToJson } from "../../../src/breach/report-render";
import { completingFollowUp, initialWithGaps } from "./report-fixtures";

const HOSTILE = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`;

const v1 = (): Report => validateReport(null, initialWithGaps());
const v2 = (): Report => validateReport(v1(), completingFollowUp());

/** Loads nothing: no scripts, no attribute that fetches, no external URL. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<(script|img|link|iframe|object|embed)\b/i);
  expect(html).not.toMatch(/<[^>]*\s(src|href|on[a-z]+)=/i);
  expect(html).not.toMatch(/url\(/i);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
}

describe("reportToJson", () => {
  it("round-trips the validated version", () => {
    const r = v2();
    expect(JSON.parse(reportToJson(r))).toEqual(r);
    expect(validateReport(v1(), JSON.parse(reportToJson(r)))).toEqual(r);
  });
});

describe("renderReportHtml", () => {
  it("shows the Art. 33(3) content of an initial report and marks the gaps", () => {
    const html = renderReportHtml(v1());
    expectSelfContained(html);
    for (const heading of [
      "(a) Nature of the breach",
      "(b) Data protection officer or contact point",
      "(c) Likely consequences",
      "(d) Measures taken or proposed",
    ]) {
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
    expect(html).toContain("Initial report, version 1");
    expect(html).toContain("in phases (information to follow)");
    expect(html).toContain("2024-03-04T10:00:00.000Z"); // the deadline
    expect(html).toContain('<span class="todo">To follow</span>');
    expect(html).toContain('<span class="todo">To follow (expected by 2024-03-05T00:00:00Z)</span>');
    expect(html).toContain("<li>nature.approxSubjects</li>");
    expect(html).toContain("dpo@shop.example");
    expect(html).not.toContain("Changes since");
  });

  it("shows what a follow-up changed since the previous version", () => {
    const html = renderReportHtml(v2(), v1());
    expectSelfContained(html);
    expect(html).toContain("Follow-up report, version 2");
    expect(html).toContain("<h2>Changes since version 1</h2>");
    expect(html).toContain('<tr><td>nature.approxSubjects</td><td><span class="todo">To follow</span></td><td>4200</td></tr>');
    expect(html).toContain("<tr><td>nature.approxRecords</td><td>12000</td><td>12500</td></tr>");
    expect(html).toContain(">complete<");
    expect(html).not.toContain("Information to follow");
  });

  it("says so when a follow-up changed nothing", () => {
    const v3 = validateReport(v2(), completingFollowUp({ version: 3, submittedAt: "2024-03-07T00:00:00Z" }));
    expect(renderReportHtml(v3, v2())).toContain("<p>No field changed.</p>");
  });

  it("escapes every value", () => {
    const r = validateReport(
      null,
      initialWithGaps({
        incidentId: `inc"><b>`,
        nature: { ...(initialWithGaps().nature as object), description: HOSTILE, dataCategories: [HOSTILE] },
        contact: { name: HOSTILE, email: "dpo@shop.example" },
        delayReasons: HOSTILE,
      }),
    );
    const html = renderReportHtml(r);
    expectSelfContained(html);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("inc&quot;&gt;&lt;b&gt;");
  });

  it("renders a withdrawal with its reason", () => {
    const w = validateReport(v1(), {
      incidentId: "inc_01HX",
      version: 2,
      kind: "withdrawal",
      submittedAt: "2024-03-03T00:00:00Z",
      detectedAt: "2024-03-01T08:00:00Z",
      awareAt: "2024-03-01T10:00:00Z",
      reason: `Test data only.\n\nConfirmed by ${HOSTILE}.`,
    });
    const html = renderReportHtml(w, v1());
    expectSelfContained(html);
    expect(html).toContain("Withdrawal, version 2");
    expect(html).toContain("<h2>Reason for the withdrawal</h2>\n<p>Test data only.</p>\n<p>Confirmed by &lt;script&gt;");
    expect(html).not.toContain("(a) Nature of the breach");
    expect(html).toContain("<h2>Changes since version 1</h2>");
  });

  it("renders an ongoing breach", () => {
    const r = validateReport(
      null,
      initialWithGaps({ nature: { ...(initialWithGaps().nature as object), occurred: { from: "2024-02-27T00:00:00Z", until: null } } }),
    );
    expect(renderReportHtml(r)).toContain("2024-02-27T00:00:00Z – ongoing");
  });
});
