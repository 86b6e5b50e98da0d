import type { ClientBase } from "pg";
import type { StepCount } from "../../types";
import { qualified, quoteIdent } from "./ident";
import { rowIdNotInSql } from "./row-id";
import { normalizeIdentity } from "../../subject/identity-match";
import { matchSql, tuplesOf, type RowSets, type SubjectRow } from "./collect";
import type { StorePlan } from "./store-plan";

/*
 * The in-Node reference of the erasure's collect-and-decide rules (`collect` + this file). The
 * erasure itself runs compiled inside Postgres (`compile`); this reference remains the oracle the
 * exporter's locator is tested against (test/exports/locate.test.ts).
 */

/** What happens to one table's rows in this request. */
export interface TableDecision {
  table: string;
  /** Rows the table's action applies to (owned, and referenced rows nobody else uses). */
  rows: SubjectRow[];
  /** Referenced rows also used outside the subject's rows: left untouched. */
  shared: SubjectRow[];
  /** Rows whose FK columns must be set NULL because the row they point to is deleted: column → ctids. */
  detach: Map<string, Set<string>>;
}

/** Per-table decisions in change order. */
export type Decisions = TableDecision[];

const key = (t: string[]) => JSON.stringify(t);

/**
 * Decides, in change order, which collected rows are erased and which referenced rows are
 * shared (referenced by any row outside the subject's, through any FK of the schema), then
 * which kept or anonymized rows must let go of a row being deleted.
 */
export async function decide(db: ClientBase, plan: StorePlan, sets: RowSets): Promise<Decisions> {
  const decisions = new Map<string, TableDecision>();
  const inside = (table: string): SubjectRow[] => decisions.get(table)?.rows ?? [...(sets.get(table)?.values() ?? [])];
  for (const table of plan.order) {
    const all = [...sets.get(table)!.values()].filter((r) => r.ctid !== null);
    const candidates = all.filter((r) => !r.owned);
    const sharedKeys = new Set<string>();
    const shared = new Set<SubjectRow>();
    const action = plan.tables.get(table)!.spec.action;
    if (candidates.length > 0 && action !== "keep") {
      for (const link of plan.inbound.get(table) ?? []) {
        const tuples = tuplesOf(candidates, link.to.columns);
        if (tuples.length === 0) continue;
        const m = matchSql(plan, link.from.table, link.from.columns, tuples, 2, link.match);
        const norm = (v: string): string => normalizeIdentity(v, link.match);
        const mine = inside(link.from.table)
          .map((r) => r.ctid)
          .filter((c): c is string => c !== null);
        const cols = link.from.columns.map((c) => `${quoteIdent(c)}::text`).join(", ");
        const res = await db.query<Record<string, string>>(
          `SELECT DISTINCT ${cols} FROM ${qualified(plan.schemaName, link.from.table)} WHERE ${m.sql} AND ${rowIdNotInSql("$1")}`,
          [mine, ...m.params],
        );
        for (const r of res.rows) sharedKeys.add(key(link.from.columns.map((c) => norm(r[c]!))));
        for (const row of candidates) {
          if (sharedKeys.has(key(link.to.columns.map((c) => norm(row.values[c] ?? ""))))) shared.add(row);
        }
      }
    }
    decisions.set(table, {
      table,
      rows: all.filter((r) => !shared.has(r)),
      shared: [...shared],
      detach: new Map(),
    });
  }
  for (const link of plan.links) {
    if (link.kind !== "fk") continue;
    const target = plan.tables.get(link.to.table)!;
    const from = plan.tables.get(link.from.table)!;
    if (target.spec.action !== "delete" || from.spec.action === "delete") continue;
    const deleted = new Set(tuplesOf(decisions.get(link.to.table)!.rows, link.to.columns).map(key));
    const d = decisions.get(link.from.table)!;
    for (const row of d.rows) {
      const t = link.from.columns.map((c) => row.values[c]);
      if (t.some((v) => v === null || v === undefined) || !deleted.has(key(t as string[]))) continue;
      for (const c of link.from.columns) {
        const set = d.detach.get(c) ?? new Set<string>();
        set.add(row.ctid!);
        d.detach.set(c, set);
      }
    }
  }
  return plan.order.map((t) => decisions.get(t)!);
}

/** Counts of a decision set, as steps (the preview, and the basis of the receipt). */
export function countsOf(plan: StorePlan, decisions: Decisions, changed?: Map<string, number>): StepCount[] {
  const steps: StepCount[] = [];
  for (const d of decisions) {
    const spec = plan.tables.get(d.table)!.spec;
    // Kept rows are reported as kept (all of them); other actions report rows actually changed.
    const rows = spec.action === "keep" ? d.rows.length : (changed?.get(d.table) ?? d.rows.length);
    steps.push({ store: plan.store, table: d.table, action: spec.action, rows, ...(spec.action === "keep" && spec.ground ? { ground: spec.ground } : {}) });
    if (d.shared.length > 0) steps.push({ store: plan.store, table: d.table, action: "shared", rows: d.shared.length });
  }
  return steps;
}
