import { z } from "zod";
import { BREACH_KINDS } from "./breach-types";
import { delayReasonsError } from "./clock";
import { BreachInputError, parseBreachInput, requiredText, type BreachFieldError } from "./input-error";

/**
 * Versioned reports to the supervisory authority (Art. 33(3), in phases per Art. 33(4)). Version 1
 * is the `initial` report; later versions are `follow_up`s or a `withdrawal`. A report that is not
 * `final` may mark any content field "to follow"; a final (complete) one may not. Every version is a
 * whole document, so each can be rendered alone; `diffReports` says what changed.
 *
 * Content (Art. 33(3)): (a) `nature` — description, kinds, categories and approximate numbers of
 * people and of records; (b) `contact` — the DPO or other contact point; (c) `consequences`;
 * (d) `measures` taken and proposed. Plus the timeline and, when late, the reasons for the delay.
 * These are facts about the incident, not data of the affected people.
 */

/** The marker of a content field whose value will come in a later phase. */
export const ToFollowSchema = z
  .object({
    toFollow: z.literal(true),
    /** When the information is expected, if known. */
    expectedBy: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** A field "to follow" in a later phase. */
export type ToFollow = z.output<typeof ToFollowSchema>;

/** A content field: its value, or {@link ToFollow}. */
export function phased<T extends z.ZodType>(value: T) {
  return z.union([value, ToFollowSchema]);
}

/** True when a value is the "to follow" marker. */
export function isToFollow(v: unknown): v is ToFollow {
  return typeof v === "object" && v !== null && (v as { toFollow?: unknown }).toFollow === true;
}

const text = (what: string) => requiredText(what, 1, 20_000);
const instant = z.iso.datetime({ offset: true });
const labels = z.array(z.string().trim().min(1).max(200)).min(1, "name at least one").max(100);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The DPO or other contact point (Art. 33(3)(b)): a role's business contact, reachable by at least one channel. */
export const ContactSchema = z
  .object({
    name: requiredText("name", 1, 200),
    role: z.string().trim().max(200).optional(),
    email: z.email().max(320).optional(),
    phone: z.string().trim().max(50).optional(),
    address: z.string().trim().max(1000).optional(),
  })
  .strict()
  .refine((c) => c.email !== undefined || c.phone !== undefined || c.address !== undefined, { message: "give an email, phone or address", path: ["email"] });

/** The contact point of a report. */
export type Contact = z.output<typeof ContactSchema>;

const common = {
  /** The incident's id in the register. */
  incidentId: requiredText("incidentId", 1, 100),
  version: z.number().int().min(1),
  /** When this version was submitted to the authority. */
  submittedAt: instant,
  detectedAt: instant,
  /** When the controller became aware; starts the 72 h clock and does not change between versions. */
  awareAt: instant,
};

const contentSchema = z.object({
  ...common,
  kind: z.enum(["initial", "follow_up"]),
  /** A complete report: nothing is left to follow. */
  final: z.boolean(),
  nature: z
    .object({
      description: phased(text("description")),
      kinds: z.array(z.enum(BREACH_KINDS)).min(1, "name at least one kind of breach"),
      /** When the breach happened; `until: null` while it goes on. */
      occurred: phased(z.object({ from: instant, until: instant.nullable() }).strict()),
      dataCategories: phased(labels),
      subjectCategories: phased(labels),
      approxSubjects: phased(count),
      approxRecords: phased(count),
    })
    .strict(),
  contact: phased(ContactSchema),
  consequences: phased(text("consequences")),
  measures: z.object({ taken: phased(text("measures taken")), proposed: phased(text("measures proposed")) }).strict(),
  /** Reasons for notifying after 72 h (Art. 33(1)); required then on the initial report. */
  delayReasons: z.string().trim().max(20_000).optional(),
});

const withdrawalSchema = z.object({
  ...common,
  kind: z.literal("withdrawal"),
  /** Why the notified incident is withdrawn (e.g. no personal data was affected after all). */
  reason: text("reason"),
});

/** One version of a report, any kind. */
export const ReportSchema = z.discriminatedUnion("kind", [contentSchema.strict(), withdrawalSchema.strict()]);

/** A validated report version. */
export type Report = z.output<typeof ReportSchema>;

/** A report version with Art. 33(3) content (initial or follow-up). */
export type ContentReport = Extract<Report, { kind: "initial" | "follow_up" }>;

/** The dotted paths of the content fields marked "to follow", in document order. */
export function toFollowPaths(report: Report): string[] {
  if (report.kind === "withdrawal") return [];
  const out: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (isToFollow(v)) out.push(at);
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
  };
  walk({ nature: report.nature, contact: report.contact, consequences: report.consequences, measures: report.measures }, "");
  return out;
}

function ruleErrors(prev: Report | null, next: Report): BreachFieldError[] {
  const errors: BreachFieldError[] = [];
  const add = (field: string, message: string) => errors.push({ field, message });
  if (prev === null) {
    if (next.kind !== "initial") add("kind", "the first version must be an initial report");
    if (next.version !== 1) add("version", "the first version is 1");
  } else {
    if (next.kind === "initial") add("kind", "only the first version is an initial report; use follow_up or withdrawal");
    if (prev.kind === "withdrawal") add("kind", "the report was withdrawn; no version can follow a withdrawal");
    if (next.version !== prev.version + 1) add("version", `the next version is ${prev.version + 1}`);
    if (next.incidentId !== prev.incidentId) add("incidentId", "a version belongs to the same incident as the previous one");
    if (Date.parse(next.submittedAt) < Date.parse(prev.submittedAt)) add("submittedAt", "a version cannot be submitted before the previous one");
    if (Date.parse(next.awareAt) !== Date.parse(prev.awareAt)) add("awareAt", "awareness does not change between versions (the clock started once)");
    if (Date.parse(next.detectedAt) !== Date.parse(prev.detectedAt)) add("detectedAt", "detection does not change between versions");
  }
  if (Date.parse(next.detectedAt) > Date.parse(next.awareAt)) add("awareAt", "awareness cannot precede detection");
  if (next.kind === "withdrawal") return errors;

  const gaps = toFollowPaths(next);
  if (next.final) for (const path of gaps) add(path, "a complete (final) report cannot leave a field to follow");
  if (prev && prev.kind !== "withdrawal") {
    if (prev.final && !next.final) add("final", "the previous version was complete; a follow-up must stay complete");
    const prevGaps = new Set(toFollowPaths(prev));
    for (const path of gaps) if (!prevGaps.has(path)) add(path, "was given in an earlier version; correct it instead of marking it to follow");
  }
  const late = next.kind === "initial" ? delayReasonsError(new Date(next.awareAt), new Date(next.submittedAt), next.delayReasons) : null;
  if (late) errors.push(late);
  return errors;
}

/**
 * Validates `next` as the version that follows `prev` (`null` for the first) and returns it parsed.
 * Throws `BreachInputError` naming every bad field: shape, version order, kind order, a complete
 * report with gaps, a field given before and now "to follow", a late initial report without reasons.
 */
export function validateReport(prev: Report | null, next: unknown): Report {
  const parsed = parseBreachInput("report", ReportSchema, next);
  const errors = ruleErrors(prev, parsed);
  if (errors.length > 0) throw new BreachInputError("report", errors);
  return parsed;
}
