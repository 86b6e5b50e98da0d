import { identitySpecs, type IdentityDeclaration } from "./identity-match";

/** What mail to the subject needs, read from the subject's row when a request starts (sealed with it). */
export interface SubjectContact {
  /** Address mail goes to. */
  email?: string;
  /** Preferred language of notices (e.g. `de`). */
  locale?: string;
  /** Country, for counting affected people by country. */
  country?: string;
}

/** The parts of the data map's `subject` this module reads. */
interface SubjectContactSpec {
  key: string;
  identities: Readonly<Record<string, IdentityDeclaration>>;
  contact?: { email: string; locale?: string | undefined; country?: string | undefined } | undefined;
}

/**
 * The subject table's contact columns by purpose. `subject.contact` when declared; else a map
 * written before it existed falls back to the `email` identity's column for `email`.
 */
export function contactColumns(map: { subject: SubjectContactSpec }): Partial<Record<keyof SubjectContact, string>> {
  const c = map.subject.contact;
  if (c) return { email: c.email, ...(c.locale ? { locale: c.locale } : {}), ...(c.country ? { country: c.country } : {}) };
  const email = identitySpecs(map.subject).find((i) => i.name === "email");
  return email ? { email: email.column } : {};
}

/**
 * The address mail goes to: the snapshot's contact email, else (a request sealed before contacts
 * existed) its `email` identity. Undefined when the subject has none.
 */
export function contactEmailOf(sealed: { contact?: SubjectContact | undefined; identities?: Record<string, string> | undefined }): string | undefined {
  return sealed.contact?.email ?? sealed.identities?.email;
}
