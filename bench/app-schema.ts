import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";

/**
 * The generated application schema the erasure benchmarks share: 4 related tables, 20 rows per
 * subject (1 user, 5 orders, 10 order items, 4 comments), and its postgres store declaration; and
 * the same subjects in Redis and files for the multi-store benchmarks.
 */

/** The tables, with an index on every foreign key. */
export const APP_SCHEMA = `
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, phone text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, user_id integer REFERENCES users(id), total_cents integer NOT NULL, billing_name text NOT NULL, billing_email text NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE order_items (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id), sku text NOT NULL, quantity integer NOT NULL);
CREATE TABLE comments (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users(id), body text NOT NULL);
CREATE INDEX ON orders(user_id); CREATE INDEX ON order_items(order_id); CREATE INDEX ON comments(user_id);
`;

/** Fills `n` subjects (ids 1..n): 20 rows each. */
export const fillApp = (n: number): string => `
INSERT INTO users (email, full_name, phone) SELECT 'user' || g || '@example.com', 'User ' || g, '+49 ' || g FROM generate_series(1, ${n}) g;
INSERT INTO orders (user_id, total_cents, billing_name, billing_email) SELECT u, 100 * o, 'User ' || u, 'user' || u || '@example.com' FROM generate_series(1, ${n}) u, generate_series(1, 5) o;
INSERT INTO order_items (order_id, sku, quantity) SELECT o.id, 'SKU' || i, i FROM orders o, generate_series(1, 2) i;
INSERT INTO comments (user_id, body) SELECT u, 'comment ' || c || ' by user ' || u FROM generate_series(1, ${n}) u, generate_series(1, 4) c;
ANALYZE;
`;

/** The data map's subject for this schema. */
export const APP_SUBJECT = { store: "app", table: "users", key: "id", identities: { email: "email" } };

/** The postgres store of this schema; its URL comes from the environment variable `urlVar`. */
export const appStore = (urlVar: string) => ({
  kind: "postgres",
  url: `\${${urlVar}}`,
  tables: {
    users: { action: "delete", fields: { email: { category: "contact" }, full_name: { category: "identity" }, phone: { category: "contact" } } },
    orders: {
      action: "keep",
      ground: "tax records",
      fields: { billing_name: { category: "identity", mask: "token" }, billing_email: { category: "contact", mask: "email" } },
    },
    order_items: { action: "keep", ground: "tax records" },
    comments: { action: "delete", fields: { body: { category: "content" } } },
  },
  notLinks: { "orders.billing_email": "the address billed at order time, a copy masked with the order (found through user_id)" },
});

/**
 * The Redis and files stores of the multi-store benchmarks (their URL and root from
 * BENCH_CACHE_URL and BENCH_FILES_ROOT). `globs`: a SCANned key pattern and a listed directory;
 * without, exact keys and paths only.
 */
export const otherStores = (prefix: string, globs: boolean) => ({
  cache: {
    kind: "redis",
    url: "${BENCH_CACHE_URL}",
    keys: [
      { pattern: `${prefix}:session:{id}` },
      { pattern: globs ? `${prefix}:cart:{id}:*` : `${prefix}:cart:{id}:items` },
      { pattern: `${prefix}:user:{email}` },
    ],
  },
  uploads: { kind: "files", root: "${BENCH_FILES_ROOT}", paths: [globs ? "avatars/{id}.*" : "avatars/{id}.png", "uploads/{id}/**"] },
});

/**
 * The same subjects (ids 1..n) in the other stores of the multi-store benchmarks: three Redis keys
 * each under `prefix` (session, cart, user by email) and two files under `root` (an avatar, an
 * upload).
 */
export async function fillOtherStores(redis: Redis, prefix: string, root: string, n: number): Promise<void> {
  for (let start = 1; start <= n; start += 500) {
    const pipe = redis.pipeline();
    for (let id = start; id < Math.min(start + 500, n + 1); id++) {
      pipe.set(`${prefix}:session:${id}`, `{"user":"user${id}@example.com"}`);
      pipe.set(`${prefix}:cart:${id}:items`, "SKU1,SKU2");
      pipe.set(`${prefix}:user:user${id}@example.com`, String(id));
    }
    await pipe.exec();
  }
  mkdirSync(join(root, "avatars"), { recursive: true });
  for (let id = 1; id <= n; id++) {
    writeFileSync(join(root, "avatars", `${id}.png`), `avatar of user ${id}`);
    mkdirSync(join(root, "uploads", String(id)), { recursive: true });
    writeFileSync(join(root, "uploads", String(id), "invoice.pdf"), `invoice of user ${id}`);
  }
}
