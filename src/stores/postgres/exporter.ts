import type { PoolClient } from "pg";
import type { DataMap } from "../../datamap/schema";
import { buildStorePlan, type StorePlan } from "./store-plan";
import { qualified, quoteIdent } from "./ident";
import type { StorePools } from "./pools";
import { copyOut, jsonLinesToArray } from "./copy-out";
import { locateSubjectRows, type RowFilter } from "./locate";
import type { ExportSink } from "../export-sink";
import type { ExportStoreContext, StoreExporter } from "../store-kind";

/** COPY options of the JSON stream: CSV mode with a quote and delimiter JSON text never holds raw, so each line is the document as is. */
export const JSON_LINES_COPY = `FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'`;
/** COPY options of the CSV file: RFC 4180 quoting by Postgres, a header line, NULL as an empty field (an empty string is `""`). */
export const CSV_COPY = "FORMAT csv, HEADER";

/** The two queries of one table's export, `$n` placeholders for `params`. */
export interface TableExportSql {
  /** One `row_to_json` document per row. */
  json: string;
  /** Every column of the table, in table order. */
  csv: string;
  params: unknown[];
}

/** The queries that select the subject's rows of `table` (null filter: the subject has none there). */
export function tableExportSql(plan: StorePlan, table: string, filter: RowFilter | null): TableExportSql {
  const columns = [...plan.tables.get(table)!.info.columns.keys()];
  const from = `${qualified(plan.schemaName, table)} AS t WHERE ${filter ? filter.where : "false"}`;
  return {
    json: `SELECT row_to_json(t)::text FROM ${from}`,
    csv: `SELECT ${columns.map((c) => `t.${quoteIdent(c)}`).join(", ")} FROM ${from}`,
    params: filter ? filter.params : [],
  };
}

/** Tables in the order the export lists them: the subject table, then data-map order. */
export function exportOrder(plan: StorePlan): string[] {
  return [plan.subjectTable, ...[...plan.tables.keys()].filter((t) => t !== plan.subjectTable)];
}

/**
 * The postgres store kind's export: in ONE read-only REPEATABLE READ transaction (every file
 * sees the same snapshot), locate the subject's rows with the planner's rules (`./locate`),
 * then stream each table with COPY (`./copy-out`) into `data/<store>/<table>.json` (an
 * array of row objects, Postgres's own JSON for each row) and `.csv` (a header and every column).
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
          const json = { rows: 0 };
          const lines = { rows: 0 };
          await sink.add({
            path: `data/${store}/${table}.json`,
            store,
            table,
            contentType: "application/json",
            source: jsonLinesToArray(copyOut(client, q.json, q.params, JSON_LINES_COPY, json, ctx.signal), lines),
            rows: () => json.rows,
          });
          if (lines.rows !== json.rows) throw new Error(`${store}.${table}: ${json.rows} rows copied but ${lines.rows} JSON lines`);
          const csv = { rows: 0 };
          await sink.add({
            path: `data/${store}/${table}.csv`,
            store,
            table,
            contentType: "text/csv",
            source: copyOut(client, q.csv, q.params, CSV_COPY, csv, ctx.signal),
            rows: () => csv.rows,
          });
        }
        await client.query("COMMIT");
      } catch (err) {
        broken = err instanceof Error ? err : new Error("export failed");
        throw err;
      } finally {
        // A connection that failed mid-COPY is dropped, not handed back (its transaction dies with it).
        client.release(broken);
      }
    },
  };
}
