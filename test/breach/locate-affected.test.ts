import { BreachInputError } from "../../src/breach/input-error";
import { parseScope } from "../../src/breach/scope";
import { loadDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import type { AffectedLocator, AffectedPerson } from "../../src/stores/affected";
import { StorePools } from "../../src/stores/postgres/pools";
import { StoreSet } from "../../src/stores/store-set";
import { testConfig } from "../helpers/config";
import { createScratchDb, queryRows, type ScratchDb } from "../helpers/db";
import { BREACH_MAP, seedBreachApp } from "./fixture";

const OPTS = { statementTimeoutMs: 60_000 };

describe("breach scope: the people breached rows belong to, found through the data map", () => {
  let app: ScratchDb;
  let map: DataMap;
  let pools: StorePools;
  let locator: AffectedLocator;

  beforeAll(async () => {
    app = await createScratchDb("lethe_breach_app");
    await seedBreachApp(app.url, 200);
    map = loadDataMap(BREACH_MAP.path, { [BREACH_MAP.urlVar]: app.url });
    pools = new StorePools(map, 2);
    const stores = new StoreSet({ dataMap: map, config: testConfig(), pools, logger: createLogger("silent") });
    locator = stores.affected("app");
  });

  afterAll(async () => {
    await pools?.close();
    await app?.drop();
  });

  const ids = async (sql: string, params: unknown[] = []) => (await queryRows<{ id: string }>(app.url, sql, params)).map((r) => String(r.id)).sort();

  it("orders exposed between two dates: people, records, categories and countries", async () => {
    const scope = parseScope({
      kind: "rows",
      store: "app",
      table: "orders",
      window: { column: "placed_at", from: "2025-02-10T00:00:00Z", until: "2025-02-13T00:00:00Z" },
    });
    const counts = await locator.count(scope, OPTS);
    const expectedPeople = await ids(
      `SELECT DISTINCT customer_id AS id FROM orders WHERE placed_at >= '2025-02-10T00:00:00Z' AND placed_at < '2025-02-13T00:00:00Z'`,
    );
    const [records] = await queryRows<{ n: number; fin: number }>(
      app.url,
      `SELECT count(*)::int AS n, count(card_last4)::int AS fin FROM orders WHERE placed_at >= '2025-02-10T00:00:00Z' AND placed_at < '2025-02-13T00:00:00Z'`,
    );
    expect(counts.people).toBe(expectedPeople.length);
    expect(counts.records).toEqual({ "app.orders": records!.n });
    expect(counts.categories.financial!.records).toBe(records!.fin);
    expect(counts.categories.identity!.records).toBe(records!.n);
    expect(counts.categories.identity!.people).toBe(expectedPeople.length);
    const finPeople = await ids(
      `SELECT DISTINCT customer_id AS id FROM orders WHERE card_last4 IS NOT NULL AND placed_at >= '2025-02-10T00:00:00Z' AND placed_at < '2025-02-13T00:00:00Z'`,
    );
    expect(counts.categories.financial!.people).toBe(finPeople.length);
    const byCountry = await queryRows<{ c: string; n: number }>(
      app.url,
      `SELECT coalesce(country, '') AS c, count(*)::int AS n FROM customers WHERE id::text = ANY($1) GROUP BY 1`,
      [expectedPeople],
    );
    expect(counts.countries).toEqual(Object.fromEntries(byCountry.map((r) => [r.c, r.n])));
    expect(counts.peopleWithoutContact).toBe(0);

    const collected: AffectedPerson[] = [];
    const again = await locator.collect(scope, async (batch) => void collected.push(...batch), { ...OPTS, batchSize: 7 });
    expect(again).toEqual(counts);
    expect(collected.map((p) => p.key).sort()).toEqual(expectedPeople);
    expect(collected.every((p) => p.email?.endsWith("@example.test"))).toBe(true);
  });

  it("a shared address leads to everyone living there; order items lead up through their order", async () => {
    const shared = await locator.count(parseScope({ kind: "keys", store: "app", table: "addresses", values: [3] }), OPTS);
    expect(shared.people).toBe((await ids(`SELECT id FROM customers WHERE address_id = 3`)).length);
    expect(shared.people).toBe(2);
    const items = await locator.count(
      parseScope({ kind: "rows", store: "app", table: "order_items", where: [{ column: "sku", op: "in", value: ["SKU-1", "SKU-2", "SKU-3"] }] }),
      OPTS,
    );
    expect(items.people).toBe(
      (await ids(`SELECT DISTINCT o.customer_id AS id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.sku IN ('SKU-1','SKU-2','SKU-3')`)).length,
    );
    expect(items.records).toEqual({ "app.order_items": 3 });
    expect(items.categories).toEqual({});
  });

  it("a table partitioned by month is one logical table: a window across both partitions", async () => {
    const scope = parseScope({
      kind: "rows",
      store: "app",
      table: "events",
      window: { column: "at", from: "2025-02-25T00:00:00Z", until: "2025-03-05T00:00:00Z" },
    });
    const counts = await locator.count(scope, OPTS);
    const expected = await ids(`SELECT DISTINCT customer_id AS id FROM events WHERE at >= '2025-02-25T00:00:00Z' AND at < '2025-03-05T00:00:00Z'`);
    const [inMarch] = await queryRows<{ n: number }>(app.url, `SELECT count(*)::int AS n FROM events_2025_03 WHERE at < '2025-03-05T00:00:00Z'`);
    expect(inMarch!.n).toBeGreaterThan(0);
    expect(counts.people).toBe(expected.length);
    expect(counts.categories.online!.people).toBe(expected.length);
  });

  it("tickets linked by e-mail only (via, normalized) and an uploaded identity list find their people", async () => {
    const tickets = await locator.count(parseScope({ kind: "rows", store: "app", table: "support_tickets", allRows: true }), OPTS);
    expect(tickets.people).toBe((await ids(`SELECT id FROM customers WHERE id % 3 = 0`)).length);
    const listed = await locator.count(
      parseScope({ kind: "identities", identity: "email", values: [" PERSON5@example.test", "person6@EXAMPLE.test", "nobody@example.test"] }),
      OPTS,
    );
    expect(listed.people).toBe(2);
    expect(listed.records).toEqual({ "app.customers": 2 });
  });

  it("refuses what the data map or the schema does not allow, naming the field and never a value", async () => {
    const refused = async (input: unknown, field: string) => {
      const err = await locator.count(parseScope(input), OPTS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BreachInputError);
      expect((err as BreachInputError).errors.map((e) => e.field)).toContain(field);
      expect((err as BreachInputError).message).not.toContain("secret-value");
    };
    await refused({ kind: "rows", store: "app", table: "products", allRows: true }, "scope.table");
    await refused({ kind: "rows", store: "app", table: "nope", allRows: true }, "scope.table");
    await refused({ kind: "rows", store: "app", table: "orders", where: [{ column: "nope", op: "=", value: "secret-value" }] }, "scope.where.0.column");
    await refused({ kind: "rows", store: "app", table: "orders", where: [{ column: "customer_id", op: "=", value: "secret-value" }] }, "scope.where.0.value");
    await refused({ kind: "rows", store: "app", table: "orders", window: { column: "shipping_name", from: "2025-01-01T00:00:00Z" } }, "scope.window.column");
    await refused({ kind: "identities", identity: "phone", values: ["secret-value"] }, "scope.identity");
    await refused({ kind: "rows", store: "other", table: "orders", allRows: true }, "scope.store");
  });
});
