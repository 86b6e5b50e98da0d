import type { ColumnInfo } from "./introspect";

/** Why a column looks personal and the category it probably belongs to. */
export interface PersonalHint {
  category: string;
  /** Suggested mask for an anonymized row. */
  mask: "null" | "token" | "email" | "hash" | "year";
  reason: string;
}

const RULES: ReadonlyArray<{ pattern: RegExp; category: string; mask: PersonalHint["mask"] }> = [
  { pattern: /e_?mail/, category: "contact", mask: "email" },
  { pattern: /phone|mobile|fax|tel(ephone)?$|^tel_/, category: "contact", mask: "token" },
  {
    pattern: /(^|_)(first|last|middle|full|given|family|sur|maiden|display|user|nick|contact|billing|shipping|author|customer)_?name$|^name$|^fullname$/,
    category: "identity",
    mask: "token",
  },
  {
    pattern: /address|street|^addr|line_?[12]$|city|post_?code|postal|zip|state$|province|region|country|lat(itude)?$|lng$|lon(gitude)?$|geo/,
    category: "location",
    mask: "token",
  },
  { pattern: /birth|dob$|^age$|gender|sex$|nationality|ethnic|religio/, category: "demographic", mask: "null" },
  { pattern: /(^|_)ip(_?addr(ess)?)?$|user_?agent|device|cookie|session/, category: "online", mask: "null" },
  { pattern: /ssn|passport|national_?id|tax_?id|vat_?(id|number)|licen[cs]e_?(no|number)|id_?card/, category: "identity", mask: "hash" },
  { pattern: /iban|account_?(no|number)|card_?(no|number)|credit_?card|bank|bic$/, category: "financial", mask: "hash" },
  { pattern: /password|passwd|secret|token$/, category: "identity", mask: "hash" },
  { pattern: /company|employer|job_?title|title$/, category: "identity", mask: "token" },
  { pattern: /health|medical|diagnos|allerg/, category: "health", mask: "null" },
];

/**
 * Heuristic: does this column look like personal data? By its name (email, phone, name,
 * address, ip, birth, …) and, for `inet` columns, its type. Used by `lethe init` to mark columns
 * for a decision and by `lethe check` to fail closed on columns nobody decided about.
 */
export function looksPersonal(column: ColumnInfo): PersonalHint | null {
  const name = column.name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  if (/^inet|^cidr|^macaddr/.test(column.sqlType)) {
    return { category: "online", mask: "null", reason: `type ${column.sqlType} holds network addresses` };
  }
  for (const rule of RULES) {
    if (rule.pattern.test(name)) {
      return { category: rule.category, mask: rule.mask, reason: `name matches ${rule.pattern.source}` };
    }
  }
  return null;
}
