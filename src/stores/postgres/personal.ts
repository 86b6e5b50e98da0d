import type { ColumnInfo, SchemaInfo, TableInfo } from "./introspect";

/** Why a column looks personal and the category it probably belongs to. */
export interface PersonalHint {
  category: string;
  /** Suggested mask for an anonymized row. */
  mask: "null" | "token" | "email" | "hash" | "year";
  /** In words: what the column probably holds and why Lethe thinks so (no patterns). */
  reason: string;
  /** The column names a person (their name, email, username): makes its table "people-like". */
  namesPerson: boolean;
}

interface Rule {
  pattern: RegExp;
  category: string;
  mask: PersonalHint["mask"];
  /** What such a column holds, in words. */
  what: string;
  namesPerson?: boolean;
}

const RULES: readonly Rule[] = [
  { pattern: /e_?mail/, category: "contact", mask: "email", what: "an email address", namesPerson: true },
  {
    pattern: /password|passwd|(^|_)pwd$|secret|(^|_)salt$|token$|api_?key|(^|_)otp|(^|_)pin$/,
    category: "online",
    mask: "hash",
    what: "a password, secret or token",
  },
  { pattern: /(^|_)(user_?name|login|handle|screen_?name|nick_?name)$/, category: "online", mask: "token", what: "a username or login", namesPerson: true },
  { pattern: /phone|mobile|(^|_)fax$|tel(ephone)?$|^tel_/, category: "contact", mask: "token", what: "a phone or fax number" },
  {
    pattern:
      /(^|_)(first|last|middle|full|given|family|sur|maiden|display|contact|billing|shipping|ship|recipient|delivery|author|customer|person|guardian|emergency_contact)_?name$|^fullname$|(^|_)(recipient|consignee|ship_to|addressee)$/,
    category: "identity",
    mask: "token",
    what: "a person's name",
    namesPerson: true,
  },
  {
    pattern: /(^|_)ip(_?addr(ess)?)?$|user_?agent|device|cookie|session/,
    category: "online",
    mask: "null",
    what: "an online identifier (IP address, device, cookie or session)",
  },
  // A bare "name" is a person's in a people table and a thing's in a catalogue: personal-looking, but it does not make a table people-like.
  { pattern: /^name$/, category: "identity", mask: "token", what: "a name (a person's, or a thing's in a catalogue)" },
  {
    pattern:
      /address|street|^addr|(^|_)line_?[123]$|(^|_)city|(^|_)town|post_?code|postal|zip|(^|_)state$|province|region|county|district|suburb|neighbou?rhood|(^|_)ward$|country|lat(itude)?$|lng$|lon(gitude)?$|(^|_)geo/,
    category: "location",
    mask: "token",
    what: "part of a postal address or a location",
  },
  {
    pattern: /birth|dob$|^age$|gender|(^|_)sex$|nationality|ethnic|religio|marital/,
    category: "demographic",
    mask: "null",
    what: "a birth date or another demographic detail",
  },
  {
    pattern: /ssn|passport|national_?id|tax_?id|vat_?(id|number)|licen[cs]e_?(no|number)|id_?card|social_?security/,
    category: "identity",
    mask: "hash",
    what: "a government or tax identifier",
  },
  { pattern: /iban|account_?(no|number)|card_?(no|number)|credit_?card|(^|_)bank|bic$/, category: "financial", mask: "hash", what: "bank or card details" },
  {
    pattern: /picture|photo|avatar|portrait|selfie|(^|_)image|signature|(^|_)face/,
    category: "identity",
    mask: "null",
    what: "a photo or other image of a person",
  },
  { pattern: /company|employer|job_?title|occupation/, category: "identity", mask: "token", what: "an employer or job title" },
  { pattern: /health|medical|diagnos|allerg|disab/, category: "health", mask: "null", what: "health data" },
];

/** The column name as the rules read it: snake_case, lower-case (`customerEmail` → `customer_email`). */
function normalName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Heuristic: does this column look like personal data? By its name (email, phone, name, address
 * parts, username, password, photo, …) and its type (`inet` and friends; any `bytea`, which may
 * hold a photo or a document). Used by `lethe init` to mark columns for a decision and by
 * `lethe check` to fail closed on columns nobody decided about. Key columns are the caller's to
 * leave out ({@link isKeyColumn}).
 */
export function looksPersonal(column: ColumnInfo): PersonalHint | null {
  const name = normalName(column.name);
  if (/^inet|^cidr|^macaddr/.test(column.sqlType)) {
    return { category: "online", mask: "null", reason: `its type (${column.sqlType}) holds network addresses`, namesPerson: false };
  }
  for (const rule of RULES) {
    if (rule.pattern.test(name)) {
      return { category: rule.category, mask: rule.mask, reason: `the name "${column.name}" suggests ${rule.what}`, namesPerson: rule.namesPerson ?? false };
    }
  }
  if (column.family === "bytea") {
    return { category: "content", mask: "null", reason: "it is binary data (bytea), which may hold a photo or a document", namesPerson: false };
  }
  return null;
}

/**
 * A key column: part of the primary key, the referencing side of a foreign key, or named like a
 * key (`id`, `…_id`, `…Id`). Keys link rows; they are never flagged as personal.
 */
export function isKeyColumn(schema: SchemaInfo, table: TableInfo, column: string): boolean {
  if (table.primaryKey.includes(column)) return true;
  if (schema.foreignKeys.some((fk) => fk.from.table === table.name && fk.from.columns.includes(column))) return true;
  return /^id$|_id$|[a-z0-9]Id$/.test(column);
}

/** A table that names people (a person's name, email or username): staff, suppliers' contacts, customers. */
export function isPeopleLike(schema: SchemaInfo, table: TableInfo): boolean {
  return [...table.columns.values()].some((c) => !isKeyColumn(schema, table, c.name) && looksPersonal(c)?.namesPerson === true);
}
