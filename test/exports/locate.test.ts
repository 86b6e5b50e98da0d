import { readFileSync } from "node:fs";
import { Client } from "pg";
import { seedShop } from "../../demo/seed";
import { parseDataMap } from "../../src/datamap/load";
import { collectRows } from "../../src/stores/postgres/collect";
import { decide } from "../../src/stores/postgres/decide";
import { buildStorePlan, type StorePlan } from "../../src/stores/postgres/store-plan";
import { inlineParamReads } from "../../src/stores/postgres/copy-out";
import { locateSubjectRows } from "../../src/stores/postgres/locate";
import { qualified } from "../../src/stores/postgres/ident";
import { introspect } from "../../src/stores/postgres/introspect";
import { ROW_ID_SQL } from "../../src/stores/postgres/row-id";
import { createScratchDb, loadChinook, type ScratchDb } from "../helpers/db";
import { CHINOOK_MAP, SHOP_MAP } from "../helpers/data-maps";

/**
 * The exporter's locator must find exactly the rows the erasure planner collects and keeps as the
 * subject's (referenced rows someone else uses are shared, left out) — the same traversal and
 * the same shared-row rule, read-only — while holding only distinct link values. Checked subject by subject on
 * the demo shop (FKs both ways, a `via` link, shared addresses) and on Chinook.
 */
describe.each([
  {
    name: "demo shop",
    map: SHOP_MAP,
    fill: (url: string) => seedShop(url, { customers: 300 }).then(() => undefined),
    subjects: "SELECT id::text AS id FROM customers ORDER BY id",
  },
  { name: "Chinook", map: CHINOOK_MAP, fill: loadChinook, subjects: "SELECT customer_id::text AS id FROM customer ORDER BY customer_id" },
])("locating a subject's rows: $name", ({ map, fill, subjects }) => {
  let db: ScratchDb;
  let client: Client;
  let plan: StorePlan;
  /** The plan with every action `delete`: `decide` then applies the shared-row rule to every table, as an export does. */
  let asIfDeleted: StorePlan;
  let seedColumn: string;

  beforeAll(async () => {
    db = await createScratchDb("lethe_locate");
    await fill(db.url);
    const raw = JSON.parse(readFileSync(map.path, "utf8")) as unknown;
    const dataMap = parseDataMap(raw, map.path, { [map.urlVar]: db.url });
    client = new Client({ connectionString: db.url });
    await client.connect();
    plan = buildStorePlan(dataMap, dataMap.subject.store, await introspect(client, "public"));
    asIfDeleted = { ...plan, tables: new Map([...plan.tables].map(([n, t]) => [n, { ...t, spec: { ...t.spec, action: "delete" as const } }])) };
    seedColumn = dataMap.subject.key;
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("finds the same rows as the erasure planner for every subject, also through the COPY parameter path", async () => {
    const ids = (await client.query<{ id: string }>(subjects)).rows.map((r) => r.id);
    expect(ids.length).toBeGreaterThan(50);
    let nonTrivial = 0;
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      for (const id of ids) {
        const collected = await collectRows(client, plan, { column: seedColumn, value: id }, false);
        // An export holds the rows an erasure would take, whatever the action: the shared ones left out.
        const decided = new Map((await decide(client, asIfDeleted, collected)).map((d) => [d.table, d.rows.map((r) => r.ctid!)]));
        const filters = await locateSubjectRows(client, plan, { column: seedColumn, value: id });
        let tables = 0;
        for (const table of plan.tables.keys()) {
          const expected = [...decided.get(table)!].sort();
          const filter = filters.get(table)!;
          const where = filter ? filter.where : "false";
          const params = filter ? filter.params : [];
          const located = (
            await client.query<{ c: string }>(`SELECT ${ROW_ID_SQL} AS c FROM ${qualified(plan.schemaName, table)} AS t WHERE ${where}`, params)
          ).rows
            .map((r) => r.c)
            .sort();
          expect({ id, table, rows: located }).toEqual({ id, table, rows: expected });
          // The same filter with its values read from the transaction-local setting (what COPY runs).
          await client.query(`SELECT set_config('lethe.copy_params', $1, true)`, [JSON.stringify(params)]);
          const viaSetting = (
            await client.query<{ c: string }>(
              `SELECT ${ROW_ID_SQL} AS c FROM ${qualified(plan.schemaName, table)} AS t WHERE ${inlineParamReads(where, params)}`,
            )
          ).rows
            .map((r) => r.c)
            .sort();
          expect({ id, table, rows: viaSetting }).toEqual({ id, table, rows: expected });
          if (expected.length > 0) tables++;
        }
        if (tables >= 3) nonTrivial++;
      }
    } finally {
      await client.query("ROLLBACK");
    }
    // Most subjects reach several tables (not a vacuous comparison).
    expect(nonTrivial).toBeGreaterThan(ids.length / 2);
  }, 120_000);
});
