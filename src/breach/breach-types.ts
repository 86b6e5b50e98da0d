/**
 * Terminology of the breach module (GDPR Art. 33, 34; EDPB Guidelines 9/2022):
 *
 * - **incident**: one suspected or confirmed personal data breach in the register (Art. 33(5)). It is
 *   kept whatever the outcome, notified or not, including when it turns out not to be a breach.
 * - **awareness** (`awareAt`): when the controller became reasonably certain that a security incident
 *   affected personal data. It starts the authority's 72-hour clock; detection may come earlier.
 * - **assessment**: the ENISA 2013 severity score of the incident (inputs, score, band, method version).
 * - **decision**: whether the authority and the people are told, which Art. 34(3) exemption applies,
 *   and why. It is recorded with its rationale and may be revised as facts change.
 * - **report**: one version of the Art. 33(3) document sent to the supervisory authority: initial,
 *   follow-up (Art. 33(4) phases) or withdrawal.
 * - **scope**: a description of the breached rows (store, table, condition, time window) or an uploaded
 *   list of keys or identities, from which the affected people are found through the data map.
 * - **notice**: the Art. 34(2) message to each affected person, one version per incident and locale.
 *
 * Everything in this folder is pure: no database, queue, mail or clock reads (callers pass `now`).
 */

/** The three kinds of breach (confidentiality, integrity, availability); an incident may be any combination. */
export const BREACH_KINDS = ["confidentiality", "integrity", "availability"] as const;

/** One kind of breach (EDPB Guidelines 9/2022, section 2). */
export type BreachKind = (typeof BREACH_KINDS)[number];
