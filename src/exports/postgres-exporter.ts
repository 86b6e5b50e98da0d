import type { PoolClient } from "pg";
import type { DataMap } from "../datamap/schema";
import { buildStorePlan, type StorePlan } from "../erasure/store-plan";
import { qualified, quoteIdent } from "../pg/ident";
import type { StorePools } from "../pg/store-pools";
import { csvLine } from "./csv";
import { cursorBatches } from "./cursor";
import { locateSubjectRows, type RowFilter } from "./locate";
import type { ExportSink, ExportStoreContext, StoreExporter } from "./store-exporter";

/** The two cursor queries of one table's export: JSON (one `row_to_json` text per row) and CSV (every column as text). */
export interface TableExportSql {
  columns: string[];
  json: string;
  csv: string;
  params: unknown[];
}

/**
 * The queries that stream the subject's rows of `table` (null filter: the subject has none).
 * Values are converted to text by Postgres, so no row is parsed into JS types on the way.
 */
export function tableExportSql(plan: StorePlan, table: string, filter: RowFilter | null): TableExportSql {
  const info = plan.tables.get(table)!.info;
  const columns = [...info.columns.keys()];
  const from = `${qualified(plan.schemaName, table)} AS t`;
  const where = filter ? filter.where : "false";
  return {
    columns,
    json: `SELECT row_to_json(t)::text FROM ${from} WHERE ${where}`,
    csv: `SELECT ${columns.map((c) => `t.${quoteIdent(c)}::text`).join(", ")} FROM ${from} WHERE ${where}`,
    params: filter ? filter.params : [],
  };
}

/** Tables in the order the export lists them: the subject table, then data-map order. */
export function exportOrder(plan: StorePlan): string[] {
  return [plan.subjectTable, ...[...plan.tables.keys()].filter((t) => t !== plan.subjectTable)];
}

/** A JSON array, one row object per line, from batches of `[row_to_json text]`. */
export async function* jsonArrayChunks(batches: AsyncIterable<unknown[][]>, counter: { rows: number }): AsyncGenerator<string> {
  let first = true;
  yield "[";
  for await (const rows of batches) {
    let chunk = "";
    for (const row of rows) {
      chunk += (first ? "\n" : ",\n") + (row[0] as string);
      first = false;
    }
    counter.rows += rows.length;
    yield chunk;
  }
  yield first ? "]\n" : "\n]\n";
}

/** CSV with a header line, from batches of text columns. */
export async function* csvChunks(columns: string[], batches: AsyncIterable<unknown[][]>, counter: { rows: number }): AsyncGenerator<string> {
  yield csvLine(columns);
  for await (const rows of batches) {
    let chunk = "";
    for (const row of rows) chunk += csvLine(row as Array<string | null>);
    counter.rows += rows.length;
    yield chunk;
  }
}

/**
 * The postgres store kind's export: in ONE read-only REPEATABLE READ transaction (every file
 * sees the same snapshot), locate the subject's rows with the planner's rules, then stream each
 * table through a cursor into `data/<store>/<table>.json` and `.csv`.
 */
export function postgresExporter(store: string, deps: { dataMap: DataMap; pools: StorePools }): StoreExporter {
  let plan: Promise<StorePlan> | undefined;
  const planOf = (): Promise<StorePlan> => {
    plan ??= deps.pools.schema(store).then((schema) => buildStorePlan(deps.dataMap, store, schema));
    plan.catch(() => (plan = undefined));
    return plan;
  };
  return {
    kind: "postgres",
    async exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void> {
      const p = await planOf();
      const client: PoolClient = await deps.pools.pool(store).connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const seed = { column: deps.dataMap.subject.key, value: ctx.snapshot.identities.id! };
        const filters = await locateSubjectRows(client, p, seed, ctx.signal);
        for (const table of exportOrder(p)) {
          const q = tableExportSql(p, table, filters.get(table) ?? null);
          const opts = ctx.signal ? { signal: ctx.signal } : {};
          const jsonRows = { rows: 0 };
          await sink.add({
            path: `data/${store}/${table}.json`,
            store,
            table,
            contentType: "application/json",
            source: jsonArrayChunks(cursorBatches(client, q.json, q.params, opts), jsonRows),
            rows: () => jsonRows.rows,
          });
          const csvRows = { rows: 0 };
          await sink.add({
            path: `data/${store}/${table}.csv`,
            store,
            table,
            contentType: "text/csv",
            source: csvChunks(q.columns, cursorBatches(client, q.csv, q.params, opts), csvRows),
            rows: () => csvRows.rows,
          });
        }
        await client.query("COMMIT");
      } catch (err) {
        broken = err instanceof Error ? err : new Error("export failed");
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        // A connection that failed mid-cursor is not handed back to the pool.
        client.release(broken);
      }
    },
  };
}
