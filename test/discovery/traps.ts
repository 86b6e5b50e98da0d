import { readFileSync } from "node:fs";
import type { Client } from "pg";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { TRAPS_MAP, type RawDataMap } from "../helpers/data-maps";
import { withClient } from "../helpers/db";
import { keySql, publicTables, sortKeys, type ChecksumDiff } from "../helpers/row-checksums";

/** Helpers for tests on the trap shop (test/fixtures/traps, issue 9). */

/** The trap map as raw JSON (to edit before parsing). */
export function rawTrapsMap(): RawDataMap {
  return JSON.parse(readFileSync(TRAPS_MAP.path, "utf8")) as RawDataMap;
}

/** The trap map, edited by `edit`, parsed against the trap database at `url`. */
export function trapsMap(url: string, edit?: (raw: RawDataMap & { stores: { shop: TrapsStore } }) => void): DataMap {
  const raw = rawTrapsMap() as RawDataMap & { stores: { shop: TrapsStore } };
  edit?.(raw);
  return parseDataMap(raw, TRAPS_MAP.path, { [TRAPS_MAP.urlVar]: url });
}

/** The trap store as raw JSON. */
export interface TrapsStore {
  tables: Record<string, Record<string, unknown> & { via?: unknown[]; fields?: Record<string, unknown> }>;
  ignore?: Record<string, string>;
  notLinks?: Record<string, string>;
}

/**
 * The `table:key` strings (as `rowChecksums` names rows) of the rows `where` selects in `table`,
 * and in every partition of it (a partitioned table is listed with its partitions).
 */
export async function rowKeys(url: string, table: string, where: string, params: unknown[] = []): Promise<string[]> {
  return withClient(url, async (c: Client) => {
    const tables = await publicTables(c);
    const pk = tables.find((t) => t.table === table)!.pk;
    const partitions = (
      await c.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`, [
        `public.${table}`,
      ])
    ).rows.map((r) => r.name);
    const out: string[] = [];
    const keys = (
      await c.query<{ k: string; p: string }>(`SELECT ${keySql(pk)} AS k, tableoid::regclass::text AS p FROM public."${table}" t WHERE ${where}`, params)
    ).rows;
    for (const r of keys) {
      out.push(`${table}:${r.k}`);
      if (partitions.includes(r.p)) out.push(`${r.p}:${r.k}`);
    }
    return out;
  });
}

/** The rows an erasure of trap customer 1 (`mark`) must remove and change, as a checksum diff. */
export async function markErasureDiff(url: string): Promise<ChecksumDiff> {
  const email = "lower(btrim(%s)) = 'zqxmark8@example.com'";
  const removed = [
    ...(await rowKeys(url, "customers", "id = 1")),
    ...(await rowKeys(url, "addresses", "id = 101")),
    ...(await rowKeys(url, "payments", "customer_id = 1")),
    ...(await rowKeys(url, "support_tickets", email.replace("%s", "customer_email"))),
    ...(await rowKeys(url, "newsletter_signups", email.replace("%s", "email"))),
    ...(await rowKeys(url, "reviews", "customer_id = 1")),
    ...(await rowKeys(url, "page_views", `"customerId" = 1`)),
  ];
  const changed = await rowKeys(url, "orders", "customer_id = 1");
  return { removed: sortKeys(removed), changed: sortKeys(changed), added: [] };
}
