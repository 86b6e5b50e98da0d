import { join } from "node:path";
import { runSql } from "../helpers/db";
import type { MapFile } from "../helpers/data-maps";

/**
 * The breach tests' application: customers (with language and country), shared addresses, orders
 * placed on known dates, their items, a product catalog, and support tickets linked by e-mail only
 * (a `via` link). `seedBreachApp(url, n)` makes `n` customers; customer i has e-mail
 * `person<i>@example.test` (`MARKER` in every name, for leak checks), orders on day i mod 28 of
 * February 2025, an address shared by each pair (2k, 2k+1), one ticket every third customer, and —
 * odd customers — a log-in event in a table partitioned by month (February, March).
 */

/** The data map file and its URL variable. */
export const BREACH_MAP: MapFile = { path: join(__dirname, "breach-map.json"), urlVar: "BREACH_DATABASE_URL" };

/** A string no log, Redis key, job or audit row may ever contain: it is in every customer's name. */
export const MARKER = "ZZMARKERQQ";

/** Creates the schema and `customers` customers (2 orders each, the second on the next day). */
export async function seedBreachApp(url: string, customers: number): Promise<void> {
  await runSql(
    url,
    `
    CREATE TABLE addresses (id serial PRIMARY KEY, line1 text NOT NULL, city text NOT NULL);
    CREATE TABLE customers (
      id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, preferred_language text, country text,
      address_id integer REFERENCES addresses(id));
    CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE orders (
      id serial PRIMARY KEY, customer_id integer REFERENCES customers(id), placed_at timestamptz NOT NULL,
      shipping_name text, card_last4 text);
    CREATE TABLE order_items (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id), product_id integer REFERENCES products(id), sku text NOT NULL);
    CREATE TABLE support_tickets (id serial PRIMARY KEY, customer_email text NOT NULL, body text NOT NULL);
    CREATE TABLE events (customer_id integer NOT NULL REFERENCES customers(id), at timestamptz NOT NULL, ip inet) PARTITION BY RANGE (at);
    CREATE TABLE events_2025_02 PARTITION OF events FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
    CREATE TABLE events_2025_03 PARTITION OF events FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
    CREATE INDEX ON events (customer_id);
    CREATE INDEX ON customers (address_id); CREATE INDEX ON orders (customer_id); CREATE INDEX ON orders (placed_at);
    CREATE INDEX ON order_items (order_id); CREATE INDEX ON order_items (product_id); CREATE INDEX ON support_tickets (customer_email);
    INSERT INTO products (name) SELECT 'product ' || g FROM generate_series(1, 20) g;
    INSERT INTO addresses (line1, city) SELECT g || ' ${MARKER} Street', 'Town' FROM generate_series(0, ${Math.ceil(customers / 2)}) g;
    INSERT INTO customers (email, full_name, preferred_language, country, address_id)
      SELECT 'person' || g || '@example.test', 'Person ${MARKER} ' || g,
             (ARRAY['de', 'en', 'de-AT', 'fr', NULL])[1 + g % 5], (ARRAY['DE', 'AT', 'FR', NULL])[1 + g % 4], 1 + g / 2
        FROM generate_series(0, ${customers - 1}) g;
    INSERT INTO orders (customer_id, placed_at, shipping_name, card_last4)
      SELECT c.id, timestamptz '2025-02-01 12:00:00+00' + make_interval(days => ((c.id - 1) % 28) + d), c.full_name, CASE WHEN c.id % 2 = 0 THEN '4242' END
        FROM customers c, generate_series(0, 1) d;
    INSERT INTO order_items (order_id, product_id, sku) SELECT o.id, 1 + o.id % 20, 'SKU-' || o.id FROM orders o;
    INSERT INTO events (customer_id, at, ip)
      SELECT c.id, timestamptz '2025-02-20 08:00:00+00' + make_interval(days => c.id % 20), ('10.0.' || (c.id % 250) || '.1')::inet FROM customers c WHERE c.id % 2 = 1;
    INSERT INTO support_tickets (customer_email, body) SELECT upper(c.email), 'help ${MARKER}' FROM customers c WHERE c.id % 3 = 0;
    `,
  );
}
