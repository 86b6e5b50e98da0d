import { appendAudit, erasedSubjectHashes } from "../db/tables/audit-log";
import type { Sql } from "../db/tables/sql";
import type { Services } from "../services";
import type { LeftoverFinding } from "../stores/store-kind";
import { subjectHash } from "../subject/hashes";
import { identitySpecs } from "../subject/identity-match";

/**
 * The leftover audit: what no link declares is still found. Every text-like value of every
 * mapped store is compared — by keyed hash (HMAC with Lethe's key), normalised by each
 * identity's match rule — with the identity hashes the erasure ledger (`erasure.completed` audit
 * entries) holds of erased subjects. Findings name the store, table, column and a count; no value
 * is kept, logged or returned. Each value is compared whole: a copy of an email in a column is
 * found, an email mentioned inside free text is not.
 */

/** Hex digits of a ledger hash kept in memory (128 bits: collisions are out of reach, memory halves). */
const KEPT_HEX = 32;

/** How an audit reads the stores. (Defaults: 5,000 rows per read, 30 s per statement.) */
export interface LeftoverAuditOptions {
  batchSize?: number;
  statementTimeoutMs?: number;
  signal?: AbortSignal;
}

/** What an audit found and how much it read. */
export interface LeftoverReport {
  /** Where erased subjects' identities are still present. Empty: nothing found. */
  findings: LeftoverFinding[];
  /** Erased identities the ledger holds (hashes, not people). */
  ledger: number;
  /** Stores read, and stores whose kind cannot be audited. */
  stores: string[];
  skippedStores: string[];
  rows: number;
  values: number;
  ms: number;
  rowsPerSecond: number;
}

/**
 * The keyed-hash test of one value against the ledger: true when, for any identity of the map,
 * `HMAC(key, "<identity>:<value normalised by its rule>")` is a hash of an erased subject.
 */
export function ledgerMatcher(
  hmacKey: Buffer,
  identities: ReadonlyArray<{ name: string; match: "exact" | "normalized" }>,
  ledger: ReadonlySet<string>,
): (value: string) => boolean {
  return (value) => identities.some((i) => ledger.has(subjectHash(hmacKey, i.name, value, i.match).slice(0, KEPT_HEX)));
}

/** Runs the audit over every store of the map whose kind can be audited. */
export async function auditLeftovers(
  services: Pick<Services, "ds" | "config" | "dataMap" | "stores">,
  opts: LeftoverAuditOptions = {},
): Promise<LeftoverReport> {
  const started = Date.now();
  const ledger = new Set<string>();
  for (const h of await erasedSubjectHashes(services.ds)) ledger.add(h.slice(0, KEPT_HEX));
  const identities = identitySpecs(services.dataMap.subject);
  const matches = ledgerMatcher(services.config.hmacKey, identities, ledger);
  const report: LeftoverReport = { findings: [], ledger: ledger.size, stores: [], skippedStores: [], rows: 0, values: 0, ms: 0, rowsPerSecond: 0 };
  for (const store of services.stores.names()) {
    const adapter = services.stores.adapter(store);
    if (!adapter.scanLeftovers) {
      report.skippedStores.push(store);
      continue;
    }
    report.stores.push(store);
    if (ledger.size === 0 || identities.length === 0) continue;
    const scanned = await adapter.scanLeftovers({
      matches,
      batchSize: opts.batchSize ?? 5000,
      statementTimeoutMs: opts.statementTimeoutMs ?? 30_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    report.findings.push(...scanned.findings);
    report.rows += scanned.rows;
    report.values += scanned.values;
  }
  report.ms = Date.now() - started;
  report.rowsPerSecond = report.ms > 0 ? Math.round((report.rows * 1000) / report.ms) : report.rows;
  return report;
}

/** One line per finding, for messages: `store.table.column (count)`. */
export function describeFindings(findings: readonly LeftoverFinding[]): string {
  return findings.map((f) => `${f.store}.${f.table}.${f.column} (${f.count})`).join(", ");
}

/** Records an audit's outcome in the audit log (`leftovers.audited`): names and counts only. */
export async function recordLeftoverAudit(q: Sql, report: LeftoverReport, actor: string): Promise<void> {
  await appendAudit(q, {
    event: "leftovers.audited",
    actor,
    detail: {
      findings: report.findings,
      stores: report.stores,
      skippedStores: report.skippedStores,
      ledger: report.ledger,
      rows: report.rows,
      values: report.values,
      ms: report.ms,
    },
  });
}
