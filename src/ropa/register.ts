import type { Config } from "../config";
import type { RetentionPolicyOverview } from "../console/retention-overview";
import type { DataMap } from "../datamap/schema";
import { kindOf } from "../stores/registry";

/**
 * The record of processing activities (Art. 30(1)), generated from the data map and the
 * retention policies Lethe enforces — never written a second time. Names, categories, periods and
 * counts only.
 */

/** One place personal data is held: a table (or a store without tables) and what it holds. */
export interface RegisterHolding {
  store: string;
  /** Table name, or the kind of store (`key-value store`) when it has no tables. */
  where: string;
  purpose: string | null;
  /** Categories of data → the fields holding them. */
  categories: Record<string, string[]>;
  /** A declared storage period (ISO 8601), when there is one. */
  period: string | null;
  /** A legal ground the rows are kept for (Art. 17(3)), when there is one. */
  keptFor: string | null;
}

/** One purpose with its lawful basis and the data it covers. */
export interface RegisterPurpose {
  name: string;
  description: string | null;
  /** The lawful basis as declared (`6(1)(b)` and/or its words). */
  lawfulBasis: string | null;
  categoriesOfData: string[];
  processors: string[];
}

/** A recipient: who, why, where, and the transfer's safeguard. */
export interface RegisterRecipient {
  name: string;
  purpose: string;
  /** Set when the recipient is a processor Lethe tells (a webhook store). */
  processorStore: string | null;
  country: string | null;
  thirdCountry: string | null;
  safeguards: string | null;
}

/** An erasure time limit Lethe enforces: a retention policy and its last real run. */
export interface RegisterTimeLimit {
  policy: string;
  store: string;
  table: string;
  action: "anonymize" | "delete";
  /** `older than P3Y` or `before 2020-01-01T00:00:00Z`, of the age in words. */
  limit: string;
  purpose: string;
  legalBasis: string;
  schedule: string;
  lastRun: { at: string | null; status: string; rowsChanged: number } | null;
}

/** Lethe's own processing: what it keeps about requests, and for how long. */
export interface RegisterOwnActivity {
  activity: string;
  data: string;
  kept: string;
}

/** The whole register. */
export interface ProcessingRegister {
  generatedAt: string;
  controller: { name: string; contact: string; dpo: string | null; supervisoryAuthority: string | null } | null;
  purposes: RegisterPurpose[];
  subjectCategories: string[];
  dataCategories: string[];
  holdings: RegisterHolding[];
  recipients: RegisterRecipient[];
  timeLimits: RegisterTimeLimit[];
  securityMeasures: string[];
  lethe: RegisterOwnActivity[];
}

/** Measures Lethe itself takes, whatever the deployment (Art. 32). */
export const LETHE_MEASURES = [
  "Identities inside Lethe are sealed with AES-256-GCM and wiped when a request or incident ends",
  "People are named in Lethe's audit log only by keyed hash (HMAC-SHA-256); the log is append-only and hash-chained",
  "Job payloads, logs, errors and metrics carry ids, names of tables and fields, and counts only",
  "Every API route but health needs an API key with a scope; the console is read-only unless a key may operate",
  "Exports are delivered as signed, expiring links; the file is deleted after",
];

/** Each store's holdings, as its kind describes it (no branching on kinds here). */
export function holdingsOf(dataMap: DataMap): { holdings: RegisterHolding[]; processors: Array<{ store: string; purpose: string | null }> } {
  const holdings: RegisterHolding[] = [];
  const processors: Array<{ store: string; purpose: string | null }> = [];
  for (const [store, spec] of Object.entries(dataMap.stores)) {
    const described = kindOf(spec).describe(store, spec, []);
    if (described.processor) processors.push({ store, purpose: described.processor.purpose ?? null });
    for (const row of described.rows) {
      holdings.push({
        store,
        where: row.table ?? row.label ?? store,
        purpose: row.purpose ?? null,
        categories: Object.fromEntries(row.categories),
        period: row.period ?? null,
        keptFor: row.keptFor ?? null,
      });
    }
  }
  return { holdings, processors };
}

/** Builds the register from the map, the enforced policies (with their last runs) and the config. */
export function buildRegister(
  dataMap: DataMap,
  policies: RetentionPolicyOverview[],
  config: Pick<Config, "exportTtlHours" | "failedIdentitiesTtlHours">,
  now: Date,
): ProcessingRegister {
  const { holdings } = holdingsOf(dataMap);
  const c = dataMap.controller;
  const categoriesFor = (purpose: string): string[] =>
    [...new Set(holdings.filter((h) => h.purpose === purpose).flatMap((h) => Object.keys(h.categories)))].sort();
  const declared = dataMap.purposes.map((p) => ({
    name: p.name,
    description: p.description ?? null,
    lawfulBasis: [p.basis ? `Art. ${p.basis}` : null, p.legalBasis ?? null].filter(Boolean).join(" — ") || null,
    categoriesOfData: categoriesFor(p.name),
    processors: p.processors,
  }));
  const undeclared = [...new Set(holdings.map((h) => h.purpose).filter((p): p is string => !!p))]
    .filter((p) => !dataMap.purposes.some((d) => d.name === p))
    .map((p) => ({ name: p, description: null, lawfulBasis: null, categoriesOfData: categoriesFor(p), processors: [] }));
  return {
    generatedAt: now.toISOString(),
    controller: c ? { name: c.name, contact: c.contact, dpo: c.dpo ?? null, supervisoryAuthority: c.supervisoryAuthority ?? null } : null,
    purposes: [...declared, ...undeclared],
    subjectCategories: dataMap.subjectCategories.length ? dataMap.subjectCategories : [`people of ${dataMap.subject.store}.${dataMap.subject.table}`],
    dataCategories: [...new Set(holdings.flatMap((h) => Object.keys(h.categories)))].sort(),
    holdings,
    recipients: dataMap.recipients.map((r) => ({
      name: r.name,
      purpose: r.purpose,
      processorStore: r.store ?? null,
      country: r.country ?? null,
      thirdCountry: r.thirdCountry ?? null,
      safeguards: r.safeguards ?? null,
    })),
    timeLimits: policies.map((p) => ({
      policy: p.name,
      store: p.store,
      table: p.table,
      action: p.action,
      limit: p.olderThan ? `${p.age} older than ${p.olderThan}` : `${p.age} before ${p.before ?? ""}`,
      purpose: p.purpose,
      legalBasis: p.legalBasis,
      schedule: `${p.schedule.cron} (${p.schedule.tz})`,
      lastRun: p.lastRun ? { at: p.lastRun.finishedAt ?? p.lastRun.startedAt, status: p.lastRun.status, rowsChanged: p.lastRun.rows.changed } : null,
    })),
    securityMeasures: [...LETHE_MEASURES, ...dataMap.securityMeasures],
    lethe: [
      {
        activity: "Data-subject requests (Art. 12–22)",
        data: "request type, dates, status, keyed hash of the person; identities sealed while the request runs",
        kept: `identities wiped when the request ends (a failed one: after ${config.failedIdentitiesTtlHours} hours); the request row is kept as proof`,
      },
      { activity: "Audit log (Art. 5(2))", data: "events, keyed hashes, ids and counts; hash-chained", kept: "append-only, kept as proof of compliance" },
      {
        activity: "Access and portability exports (Art. 15, 20)",
        data: "a zip of the person's data, mailed as a signed link",
        kept: `the file is deleted ${config.exportTtlHours} hours after it was built`,
      },
      {
        activity: "Notices to people (Art. 12(3), 18(3), 21, 34)",
        data: "sealed contact, notice text, delivery status",
        kept: "contacts wiped when the notice is sent or the incident ends",
      },
    ],
  };
}
