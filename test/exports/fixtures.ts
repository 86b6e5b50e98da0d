import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSql } from "../helpers/db";

/** A small shop for export tests: customers (subject), their orders, and an events table. */
export const SMALL_SHOP_SQL = `
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), total_cents integer NOT NULL, note text);
CREATE TABLE events (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), kind text NOT NULL, payload text, at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON events (customer_id);
INSERT INTO customers (email, full_name) SELECT 'customer' || g || '@shop.example', 'Customer ' || g FROM generate_series(1, 20) g;
INSERT INTO orders (customer_id, total_cents, note) SELECT c, 100 * o, CASE WHEN o = 1 THEN 'first, "quoted"' END FROM generate_series(1, 20) c, generate_series(1, 3) o;
INSERT INTO events (customer_id, kind, payload) SELECT c, 'login', 'from app ' || e FROM generate_series(1, 20) c, generate_series(1, 5) e;
ANALYZE;
`;

/** Inserts `n` events for one customer with generate_series (the large-table case). */
export function manyEventsSql(customerId: number, n: number): string {
  return `INSERT INTO events (customer_id, kind, payload, at)
          SELECT ${customerId}, 'page_view', 'path /products/' || g || '?ref=newsletter&campaign=spring', now() - g * interval '1 second'
            FROM generate_series(1, ${n}) g;
          ANALYZE events;`;
}

/** The data map of {@link SMALL_SHOP_SQL}, with `${urlVar}` as its store URL. */
export function smallShopMap(urlVar: string): Record<string, unknown> {
  return {
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    controller: { name: "Small Shop GmbH", contact: "privacy@shop.example" },
    purposes: [{ name: "Running the shop", legalBasis: "contract" }],
    stores: {
      shop: {
        kind: "postgres",
        url: `\${${urlVar}}`,
        tables: {
          customers: {
            action: "anonymize",
            purpose: "Customer account",
            fields: { email: { category: "contact", mask: "email" }, full_name: { category: "identity", mask: "token" }, created_at: { personal: false } },
          },
          orders: { action: "keep", ground: "tax records", retention: "P10Y", purpose: "Orders", fields: { note: { category: "content", mask: "null" } } },
          events: { action: "delete", purpose: "Product analytics", retention: "P90D", fields: { payload: { category: "online" } } },
        },
      },
    },
  };
}

/** Writes the small shop's data map to a temp file; returns the harness's `map` option. */
export function smallShopMapFile(): { path: string; urlVar: string } {
  const urlVar = "SMALL_SHOP_DATABASE_URL";
  const dir = mkdtempSync(join(tmpdir(), "lethe-map-"));
  const path = join(dir, "lethe.config.json");
  writeFileSync(path, JSON.stringify(smallShopMap(urlVar), null, 2));
  return { path, urlVar };
}

/** Creates the small shop in the database at `url`. */
export async function createSmallShop(url: string): Promise<void> {
  await runSql(url, SMALL_SHOP_SQL);
}
