import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "pg";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { introspect } from "../../src/stores/postgres/introspect";
import { eraseStore, previewStore, resolveSubject, verifyStore } from "../../src/stores/postgres/erase";
import { buildStorePlan, type StorePlan } from "../../src/stores/postgres/store-plan";
import { createScratchDb, runSql, type ScratchDb } from "../helpers/db";

const SCHEMA = readFileSync(join(__dirname, "..", "..", "demo", "shop-schema.sql"), "utf8");

/** A hand-written map of the shop, independent of demo/lethe.config.json. */
function shopMap(url: string): DataMap {
  return parseDataMap({
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: {
      shop: {
        kind: "postgres",
        url,
        tables: {
          customers: {
            action: "delete",
            fields: {
              email: { category: "contact" },
              full_name: { category: "identity" },
              phone: { category: "contact" },
              birth_date: { category: "demographic" },
            },
          },
          addresses: {
            action: "delete",
            fields: {
              line1: { category: "location" },
              line2: { category: "location" },
              city: { category: "location" },
              postcode: { category: "location" },
              country: { category: "location" },
            },
          },
          orders: {
            action: "keep",
            ground: "tax records",
            fields: {
              billing_name: { category: "identity", mask: "token" },
              billing_email: { category: "contact", mask: "email" },
              billing_address: { category: "location", mask: "token" },
              billing_ip: { category: "online", mask: "null" },
            },
          },
          order_items: { action: "keep", ground: "tax records" },
          reviews: { action: "delete", fields: { body: { category: "content" } } },
          support_tickets: {
            action: "delete",
            via: [{ column: "customer_email", references: { table: "customers", column: "email" } }],
            fields: { customer_email: { category: "contact" } },
          },
        },
      },
    },
  });
}

const DATA = `
INSERT INTO addresses (id, line1, city, postcode, country) VALUES
  (1, 'MARK-a1 Street 1', 'Berlin', '10115', 'DE'),
  (2, 'Shared Street 2', 'Berlin', '10117', 'DE'),
  (3, 'Warehouse Road 3', 'Hamburg', '20095', 'DE');
INSERT INTO customers (id, email, full_name, phone, address_id) VALUES
  (1, 'mark-x@example.com', 'MARK-x Person', '+49 111', 1),
  (2, 'other@example.com', 'Other Person', '+49 222', 2),
  (3, 'house@example.com', 'House Mate', '+49 333', 2),
  (4, 'wh@example.com', 'Warehouse Neighbour', NULL, 3);
INSERT INTO warehouses (id, name, address_id) VALUES (1, 'Main', 3);
INSERT INTO orders (id, customer_id, total_cents, billing_name, billing_email, billing_address, billing_ip) VALUES
  (1, 1, 1000, 'MARK-x Person', 'mark-x@example.com', 'MARK-a1 Street 1', '10.0.0.1'),
  (2, 2, 2000, 'Other Person', 'other@example.com', 'Shared Street 2', '10.0.0.2');
INSERT INTO order_items (order_id, sku, quantity, price_cents) VALUES (1, 'A', 1, 1000), (2, 'B', 2, 1000);
INSERT INTO reviews (customer_id, product_sku, rating, body) VALUES (1, 'A', 5, 'MARK-x loved it'), (2, 'B', 4, 'ok');
INSERT INTO support_tickets (customer_email, subject, body) VALUES ('mark-x@example.com', 'help', 'MARK-x here'), ('other@example.com', 'hi', 'x');
SELECT setval('customers_id_seq', 10);
`;

describe("Postgres erasure planner and executor", () => {
  let db: ScratchDb;
  let pool: Pool;
  let map: DataMap;
  let plan: StorePlan;

  beforeEach(async () => {
    db = await createScratchDb("lethe_plan");
    await runSql(db.url, SCHEMA + DATA);
    pool = new Pool({ connectionString: db.url, max: 3 });
    map = shopMap(db.url);
    plan = buildStorePlan(map, "shop", await introspect(pool, "public"));
  });
  afterEach(async () => {
    await pool.end();
    await db.drop();
  });

  it("orders changes so dependents come before the rows they reference", () => {
    const at = (t: string) => plan.order.indexOf(t);
    expect(at("order_items")).toBeLessThan(at("orders"));
    expect(at("orders")).toBeLessThan(at("customers"));
    expect(at("reviews")).toBeLessThan(at("customers"));
    expect(at("customers")).toBeLessThan(at("addresses"));
  });

  it("previews counts per table without changing anything", async () => {
    const before = await pool.query("SELECT count(*)::int AS n FROM customers");
    const snap = (await resolveSubject(pool, plan, map, { name: "id", value: "1" }))!;
    expect(snap.identities).toEqual({ id: "1", email: "mark-x@example.com" });
    const steps = await previewStore(pool, plan, map, snap);
    const by = (t: string, a: string) => steps.find((s) => s.table === t && s.action === a)?.rows;
    expect(by("customers", "delete")).toBe(1);
    expect(by("addresses", "delete")).toBe(1);
    expect(by("orders", "keep")).toBe(1);
    expect(steps.find((s) => s.table === "orders")?.ground).toBe("tax records");
    expect(by("order_items", "keep")).toBe(1);
    expect(by("reviews", "delete")).toBe(1);
    expect(by("support_tickets", "delete")).toBe(1);
    expect((await pool.query("SELECT count(*)::int AS n FROM customers")).rows[0]).toEqual(before.rows[0]);
  });

  it("erases one subject: deletes, masks, detaches kept rows and leaves shared rows alone", async () => {
    const snap = (await resolveSubject(pool, plan, map, { name: "email", value: "mark-x@example.com" }))!;
    let prepared: string | null = null;
    await eraseStore(pool, plan, map, snap, async (xid) => {
      prepared = xid;
    });
    expect(prepared).toMatch(/^\d+$/);
    const q = async (sql: string) => (await pool.query(sql)).rows;
    expect(await q("SELECT id FROM customers ORDER BY id")).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }]);
    expect(await q("SELECT id FROM addresses ORDER BY id")).toEqual([{ id: 2 }, { id: 3 }]);
    const [order] = await q("SELECT customer_id, billing_name, billing_email, billing_address, billing_ip FROM orders WHERE id = 1");
    expect(order).toMatchObject({ customer_id: null, billing_name: "[erased]", billing_address: "[erased]", billing_ip: null });
    expect(order!.billing_email).toMatch(/^[0-9a-f]{24}@erased\.invalid$/);
    expect(await q("SELECT count(*)::int AS n FROM reviews WHERE customer_id = 1")).toEqual([{ n: 0 }]);
    expect(await q("SELECT count(*)::int AS n FROM support_tickets")).toEqual([{ n: 1 }]);
    const dump =
      JSON.stringify(await q("SELECT row_to_json(t) FROM (SELECT * FROM customers UNION ALL SELECT * FROM customers) t")) +
      JSON.stringify(await q("SELECT * FROM orders")) +
      JSON.stringify(await q("SELECT * FROM addresses")) +
      JSON.stringify(await q("SELECT * FROM support_tickets"));
    expect(dump).not.toMatch(/MARK-|mark-x/);
    expect(await verifyStore(pool, plan, map, snap)).toEqual([]);
  });

  it("reports a referenced row used by others as shared and leaves it untouched", async () => {
    const snap = (await resolveSubject(pool, plan, map, { name: "id", value: "3" }))!;
    const steps = await eraseStore(pool, plan, map, snap, async () => undefined);
    expect(steps.find((s) => s.table === "addresses" && s.action === "shared")?.rows).toBe(1);
    expect(steps.find((s) => s.table === "addresses" && s.action === "delete")?.rows).toBe(0);
    expect((await pool.query("SELECT line1 FROM addresses WHERE id = 2")).rows[0]).toEqual({ line1: "Shared Street 2" });
    // An address a warehouse uses is shared too.
    const snap4 = (await resolveSubject(pool, plan, map, { name: "id", value: "4" }))!;
    const steps4 = await eraseStore(pool, plan, map, snap4, async () => undefined);
    expect(steps4.find((s) => s.table === "addresses" && s.action === "shared")?.rows).toBe(1);
  });

  it("a second erasure of the same subject is a no-op", async () => {
    const snap = (await resolveSubject(pool, plan, map, { name: "id", value: "1" }))!;
    await eraseStore(pool, plan, map, snap, async () => undefined);
    const dump = async () => JSON.stringify((await pool.query("SELECT * FROM orders ORDER BY id")).rows);
    const after = await dump();
    expect(await resolveSubject(pool, plan, map, { name: "id", value: "1" })).toBeNull();
    const again = await eraseStore(pool, plan, map, snap, async () => undefined);
    expect(again.filter((s) => s.action !== "keep").every((s) => s.rows === 0)).toBe(true);
    expect(await dump()).toBe(after);
  });

  it("rolls the whole store back when a statement fails", async () => {
    const snap = (await resolveSubject(pool, plan, map, { name: "id", value: "1" }))!;
    await expect(
      eraseStore(pool, plan, map, snap, async () => {
        throw new Error("recording failed");
      }),
    ).rejects.toThrow("recording failed");
    expect((await pool.query("SELECT count(*)::int AS n FROM customers WHERE id = 1")).rows[0]).toEqual({ n: 1 });
    expect((await pool.query("SELECT count(*)::int AS n FROM reviews WHERE customer_id = 1")).rows[0]).toEqual({ n: 1 });
  });
});
