import { z } from "zod";

/**
 * What the data map says about the processing itself (Art. 13–15, Art. 30), beyond where the data
 * lives: the controller, purposes, recipients and sources. The export's info sheet (`index.html`)
 * and the processing register are generated from it, so it is written once.
 */

/** The controller and the contacts a subject may use (Art. 15(1), Art. 37). */
export const CONTROLLER_SCHEMA = z
  .object({
    /** Legal name of the controller. */
    name: z.string().min(1),
    /** How a subject reaches the controller (address, email or web form). */
    contact: z.string().min(1),
    /** Contact of the data protection officer, when one is designated. */
    dpo: z.string().min(1).optional(),
    /** The supervisory authority a subject may complain to (Art. 77). */
    supervisoryAuthority: z.string().min(1).optional(),
  })
  .strict();
/** A controller declaration. */
export type ControllerSpec = z.infer<typeof CONTROLLER_SCHEMA>;

/**
 * The lawful bases of Art. 6(1): (a) consent, (b) contract, (c) legal obligation, (d) vital
 * interests, (e) public task, (f) legitimate interests. Objections (Art. 21(1)) concern (e) and
 * (f); consent can be withdrawn (Art. 7(3)) only where the basis is (a).
 */
export const LAWFUL_BASES = ["6(1)(a)", "6(1)(b)", "6(1)(c)", "6(1)(d)", "6(1)(e)", "6(1)(f)"] as const;
/** One of {@link LAWFUL_BASES}. */
export type LawfulBasis = (typeof LAWFUL_BASES)[number];

/** One purpose of the processing (Art. 15(1)(a)) and its legal basis (Art. 6). */
export const PURPOSE_SCHEMA = z
  .object({
    name: z.string().min(1),
    description: z.string().min(1).optional(),
    /** E.g. "contract (Art. 6(1)(b))". */
    legalBasis: z.string().min(1).optional(),
    /** The lawful basis as Lethe acts on it: objections (Art. 21) and consent withdrawal (Art. 7(3)) check it. */
    basis: z.enum(LAWFUL_BASES).optional(),
    /** Processors (webhook stores) that serve this purpose: told of objections and withdrawals concerning it. (Default: none) */
    processors: z.array(z.string().min(1)).default([]),
    /** Direct marketing (Art. 21(2)): an objection to it is absolute and takes effect at once. (Default: false) */
    directMarketing: z.boolean().default(false),
    /**
     * Fields of the subject held only on this purpose's basis (data-map field names, e.g.
     * `newsletter_email` or `preferences.topics`): a withdrawal of consent erases them (masked, or
     * NULL). (Default: none)
     */
    erasedOnWithdrawal: z.array(z.string().min(1)).default([]),
  })
  .strict();
/** A purpose declaration. */
export type PurposeSpec = z.infer<typeof PURPOSE_SCHEMA>;

/** A recipient or category of recipients (Art. 15(1)(c)); `thirdCountry` flags a transfer outside the EEA. */
export const RECIPIENT_SCHEMA = z
  .object({
    name: z.string().min(1),
    purpose: z.string().min(1),
    /** Country where the recipient processes the data, e.g. "Germany" (Art. 30 register; every processor needs one). */
    country: z.string().min(1).optional(),
    /** Country outside the EEA the data goes to, e.g. "United States". */
    thirdCountry: z.string().min(1).optional(),
    /** Safeguards of that transfer (Art. 46), e.g. "standard contractual clauses". */
    safeguards: z.string().min(1).optional(),
    /**
     * The processor (webhook store) through which this recipient is told of erasures,
     * rectifications and restrictions (Art. 19). Absent: the controller tells it by hand, and each
     * request records a manual task for it.
     */
    store: z.string().min(1).optional(),
  })
  .strict();
/** A recipient declaration. */
export type RecipientSpec = z.infer<typeof RECIPIENT_SCHEMA>;

/** The top-level transparency keys of the data map, all optional (additive to version 1). */
export const TRANSPARENCY_KEYS = {
  controller: CONTROLLER_SCHEMA.optional(),
  /** Purposes of the processing. (Default: none declared; per-table `purpose` still applies) */
  purposes: z.array(PURPOSE_SCHEMA).default([]),
  /** Who the data is disclosed to. (Default: none) */
  recipients: z.array(RECIPIENT_SCHEMA).default([]),
  /** Where data not collected from the subject comes from (Art. 15(1)(g)). (Default: none) */
  sources: z.array(z.string().min(1)).default([]),
  /** Categories of people whose data is processed (Art. 30(1)(c)), e.g. "customers", "newsletter subscribers". (Default: none) */
  subjectCategories: z.array(z.string().min(1)).default([]),
  /** Technical and organisational security measures beyond Lethe's own (Art. 30(1)(g), Art. 32). (Default: none) */
  securityMeasures: z.array(z.string().min(1)).default([]),
  /** Automated decision-making, including profiling (Art. 15(1)(h)); absent means none. */
  automatedDecisions: z.string().min(1).optional(),
};
