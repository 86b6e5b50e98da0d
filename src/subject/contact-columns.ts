import type { DataMap } from "../datamap/schema";

/**
 * Where the data map says mail to a person goes and how an identity is matched, read in one place
 * so breach notices (and later rights notices) agree with discovery: `subject.contact` names the
 * e-mail, locale and country columns of the subject table; without it the `email` identity is the
 * address. An identity is a column name or `{column, match}`; `normalized` compares
 * `lower(btrim(x))` on both sides and is the default for e-mail identities.
 */

/** The subject table's contact columns (null when the map declares none). */
export interface SubjectContactColumns {
  email: string | null;
  locale: string | null;
  country: string | null;
}

/** How an identity's values are compared. */
export type IdentityMatch = "normalized" | "exact";

/** The contact columns of the data map's subject. */
export function contactColumnsOf(map: DataMap): SubjectContactColumns {
  const contact = (map.subject as { contact?: { email: string; locale?: string; country?: string } }).contact;
  if (contact) return { email: contact.email, locale: contact.locale ?? null, country: contact.country ?? null };
  const email = identityOf(map, "email");
  return { email: email?.column ?? null, locale: null, country: null };
}

/** An identity's column and match rule, or null when the map declares no such identity. */
export function identityOf(map: DataMap, name: string): { column: string; match: IdentityMatch } | null {
  const raw = (map.subject.identities as Record<string, string | { column: string; match?: IdentityMatch }>)[name];
  if (raw === undefined) return null;
  const column = typeof raw === "string" ? raw : raw.column;
  const declared = typeof raw === "string" ? undefined : raw.match;
  const isEmail = name === "email" || column.toLowerCase().includes("email");
  return { column, match: declared ?? (isEmail ? "normalized" : "exact") };
}

/** An identity value as its rule compares it. */
export function normalizeIdentity(value: string, match: IdentityMatch): string {
  return match === "normalized" ? value.trim().toLowerCase() : value;
}
