import type { Client } from "pg";
import { withClient } from "./db";

/**
 * Snapshots of an application database for before/after comparisons: a checksum of every row
 * of schema `public`, the rows that changed between two snapshots, and the rows that still
 * mention a value.
 */

/** Table → (primary key → checksum). */
export type Checksums = Map<string, Map<string, string>>;

/** The tables of schema `public` and their primary-key columns (empty when a table has none). */
export async function publicTables(c: Client): Promise<Array<{ table: string; pk: string[] }>> {
  const res = await c.query<{ table: string; pk: string[] | null }>(
    `SELECT t.relname AS table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = t.oid AND i.indisprimary) AS pk
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p')
      ORDER BY t.relname`,
  );
  return res.rows.map((r) => ({ table: r.table, pk: r.pk ?? [] }));
}

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** SQL of a row's key as text: the primary key value (a JSON array when composite). */
export function keySql(pk: string[]): string {
  if (pk.length === 1) return `t.${ident(pk[0]!)}::text`;
  if (pk.length > 1) return `json_build_array(${pk.map((c) => `t.${ident(c)}::text`).join(", ")})::text`;
  return `'md5:' || md5(row_to_json(t)::text)`;
}

/**
 * For every table of schema `public`: primary key → `md5(row_to_json(row)::text)`. A table
 * without a primary key is keyed by the row's own checksum (`md5:<hash>#<n>`), so a changed row
 * shows as one removed and one added.
 */
export async function rowChecksums(url: string): Promise<Checksums> {
  return withClient(url, async (c) => {
    const out: Checksums = new Map();
    for (const { table, pk } of await publicTables(c)) {
      const res = await c.query<{ k: string; h: string }>(`SELECT ${keySql(pk)} AS k, md5(row_to_json(t)::text) AS h FROM public.${ident(table)} t`);
      const rows = new Map<string, string>();
      for (const r of res.rows) {
        let k = r.k;
        if (pk.length === 0) for (let n = 0; rows.has((k = `${r.k}#${n}`)); n++);
        rows.set(k, r.h);
      }
      out.set(table, rows);
    }
    return out;
  });
}

/** What differs between two {@link rowChecksums}, as sorted `table:key` lists. */
export interface ChecksumDiff {
  removed: string[];
  changed: string[];
  added: string[];
}

/** Compares two checksum maps row by row. */
export function diffChecksums(before: Checksums, after: Checksums): ChecksumDiff {
  const diff: ChecksumDiff = { removed: [], changed: [], added: [] };
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(table) ?? new Map<string, string>();
    const a = after.get(table) ?? new Map<string, string>();
    for (const [k, h] of b) {
      if (!a.has(k)) diff.removed.push(`${table}:${k}`);
      else if (a.get(k) !== h) diff.changed.push(`${table}:${k}`);
    }
    for (const k of a.keys()) if (!b.has(k)) diff.added.push(`${table}:${k}`);
  }
  return { removed: sortKeys(diff.removed), changed: sortKeys(diff.changed), added: sortKeys(diff.added) };
}

/** Every row (`table:key`) of schema `public` whose `row_to_json` text contains `needle` (JSON-escaped; exact, case-sensitive). */
export async function rowsContaining(url: string, needle: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const out: string[] = [];
    for (const { table, pk } of await publicTables(c)) {
      const res = await c.query<{ k: string }>(`SELECT ${keySql(pk)} AS k FROM public.${ident(table)} t WHERE strpos(row_to_json(t)::text, $1) > 0`, [
        JSON.stringify(needle).slice(1, -1),
      ]);
      out.push(...res.rows.map((r) => `${table}:${r.k}`));
    }
    return out.sort();
  });
}

/** Sorts `table:key` strings as {@link diffChecksums} does. */
export function sortKeys(keys: string[]): string[] {
  return [...keys].sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
}

/** An empty {@link ChecksumDiff}: nothing changed. */
export const NO_CHANGE: ChecksumDiff = Object.freeze({ removed: [], changed: [], added: [] }) as ChecksumDiff;
