/** Report versions of one incident ("the orders table was exposed"), as an operator would submit them. */

export const TF = { toFollow: true } as const;

/** An initial report with gaps, submitted 20 h after awareness. */
export function initialWithGaps(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    incidentId: "inc_01HX",
    version: 1,
    kind: "initial",
    final: false,
    submittedAt: "2024-03-02T06:00:00Z",
    detectedAt: "2024-03-01T08:00:00Z",
    awareAt: "2024-03-01T10:00:00Z",
    nature: {
      description: "A misconfigured export job published the orders table on a public URL.",
      kinds: ["confidentiality"],
      occurred: { from: "2024-02-27T00:00:00Z", until: "2024-03-01T09:00:00Z" },
      dataCategories: ["contact", "order history"],
      subjectCategories: ["customers"],
      approxSubjects: TF,
      approxRecords: 12000,
    },
    contact: { name: "Data Protection Officer", email: "dpo@shop.example" },
    consequences: TF,
    measures: { taken: "The URL was revoked and the job disabled.", proposed: { toFollow: true, expectedBy: "2024-03-05T00:00:00Z" } },
    ...over,
  };
}

/** The follow-up that completes it. */
export function completingFollowUp(over: Record<string, unknown> = {}): Record<string, unknown> {
  const first = initialWithGaps();
  return {
    ...first,
    version: 2,
    kind: "follow_up",
    final: true,
    submittedAt: "2024-03-05T12:00:00Z",
    nature: { ...(first.nature as object), approxSubjects: 4200, approxRecords: 12500 },
    consequences: "Phishing using order details is likely.",
    measures: { taken: "The URL was revoked and the job disabled.", proposed: "Review of every public export." },
    ...over,
  };
}
