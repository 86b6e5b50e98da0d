import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client, type ClientBase } from "pg";
import {
  randomAddress,
  randomOrder,
  randomPerson,
  randomReview,
  randomTicket,
  Rng,
  WAREHOUSE_SITES,
  type Address,
  type Order,
  type Person,
  type Review,
  type Ticket,
} from "./synthetic-people";

/** Path of the shop's schema, plain SQL. */
export const SHOP_SCHEMA_PATH = join(__dirname, "shop-schema.sql");

/** Seed used when none is given. (Default: 42.) */
export const DEFAULT_SEED = 42;

/** Customers generated and inserted per round of inserts; bounds memory for large shops. */
const BATCH_SIZE = 2000;

/** What {@link seedShop} inserted. */
export interface SeedSummary {
  /** The PRNG seed the rows came from. */
  seed: number;
  customers: number;
  /** Customer and warehouse addresses together. */
  addresses: number;
  warehouses: number;
  orders: number;
  orderItems: number;
  reviews: number;
  supportTickets: number;
  /** Customers whose address at least one other customer also uses (households). */
  householdCustomers: number;
  /** Addresses used by both a customer and a warehouse. */
  warehouseSharedAddresses: number;
  /** One customer id of each interesting kind, for tests and the demo; null when the shop is too small to have one. */
  examples: {
    /** Lives at an address another customer also uses. */
    householdCustomerId: number | null;
    /** Lives at an address a warehouse also uses. */
    warehouseAddressCustomerId: number | null;
    /** Has an address of their own, at least one order, one review and one ticket. */
    fullCustomerId: number | null;
  };
}

/** One column of a batch insert: name, Postgres element type, values (one per row). */
type Column = readonly [name: string, sqlType: string, values: readonly unknown[]];

const iso = (ms: number): string => new Date(ms).toISOString();

/** Inserts rows given column by column as one `INSERT … SELECT FROM unnest(…)`: one round trip, one parameter per column. */
async function insertColumns(db: ClientBase, table: string, columns: readonly Column[]): Promise<void> {
  if ((columns[0]?.[2].length ?? 0) === 0) return;
  const names = columns.map(([name]) => name).join(", ");
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  await db.query(
    `INSERT INTO public.${table} (${names}) SELECT * FROM unnest(${arrays})`,
    columns.map(([, , values]) => values),
  );
}

/** Takes `n` ids from a table's serial sequence, ascending, so rows can be linked before they are inserted. */
async function reserveIds(db: ClientBase, table: string, n: number): Promise<number[]> {
  if (n === 0) return [];
  const res = await db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence($1, 'id'))::int AS id FROM generate_series(1, $2)`, [`public.${table}`, n]);
  return res.rows.map((r) => r.id).sort((a, b) => a - b);
}

async function insertAddresses(db: ClientBase, rows: readonly Address[]): Promise<void> {
  await insertColumns(db, "addresses", [
    ["id", "int", rows.map((a) => a.id)],
    ["line1", "text", rows.map((a) => a.line1)],
    ["line2", "text", rows.map((a) => a.line2)],
    ["city", "text", rows.map((a) => a.city)],
    ["postcode", "text", rows.map((a) => a.postcode)],
    ["country", "text", rows.map((a) => a.country)],
  ]);
}

async function insertCustomers(db: ClientBase, people: ReadonlyArray<Person & { address: Address | null }>): Promise<void> {
  await insertColumns(db, "customers", [
    ["id", "int", people.map((p) => p.id)],
    ["email", "text", people.map((p) => p.email)],
    ["full_name", "text", people.map((p) => p.fullName)],
    ["phone", "text", people.map((p) => p.phone)],
    ["birth_date", "date", people.map((p) => p.birthDate)],
    ["address_id", "int", people.map((p) => p.address?.id ?? null)],
    ["marketing_opt_in", "boolean", people.map((p) => p.marketingOptIn)],
    ["created_at", "timestamptz", people.map((p) => iso(p.createdAt))],
    ["last_login_at", "timestamptz", people.map((p) => (p.lastLoginAt === null ? null : iso(p.lastLoginAt)))],
  ]);
}

/** Inserts orders (with reserved ids) and their items, reviews and tickets. */
async function insertActivity(
  db: ClientBase,
  orders: ReadonlyArray<Order & { id: number; customerId: number }>,
  reviews: ReadonlyArray<Review & { customerId: number }>,
  tickets: readonly Ticket[],
): Promise<void> {
  await insertColumns(db, "orders", [
    ["id", "int", orders.map((o) => o.id)],
    ["customer_id", "int", orders.map((o) => o.customerId)],
    ["placed_at", "timestamptz", orders.map((o) => iso(o.placedAt))],
    ["total_cents", "int", orders.map((o) => o.totalCents)],
    ["billing_name", "text", orders.map((o) => o.billingName)],
    ["billing_email", "text", orders.map((o) => o.billingEmail)],
    ["billing_address", "text", orders.map((o) => o.billingAddress)],
    ["billing_ip", "inet", orders.map((o) => o.billingIp)],
  ]);
  const items = orders.flatMap((o) => o.items.map((i) => ({ ...i, orderId: o.id })));
  await insertColumns(db, "order_items", [
    ["order_id", "int", items.map((i) => i.orderId)],
    ["sku", "text", items.map((i) => i.sku)],
    ["quantity", "int", items.map((i) => i.quantity)],
    ["price_cents", "int", items.map((i) => i.priceCents)],
  ]);
  await insertColumns(db, "reviews", [
    ["customer_id", "int", reviews.map((r) => r.customerId)],
    ["product_sku", "text", reviews.map((r) => r.productSku)],
    ["rating", "smallint", reviews.map((r) => r.rating)],
    ["body", "text", reviews.map((r) => r.body)],
    ["created_at", "timestamptz", reviews.map((r) => iso(r.createdAt))],
  ]);
  await insertColumns(db, "support_tickets", [
    ["customer_email", "text", tickets.map((t) => t.customerEmail)],
    ["subject", "text", tickets.map((t) => t.subject)],
    ["body", "text", tickets.map((t) => t.body)],
    ["opened_at", "timestamptz", tickets.map((t) => iso(t.openedAt))],
  ]);
}

/** Runs `fn` in one transaction on a fresh connection to `url`. */
async function inTransaction<T>(url: string, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    await db.query("BEGIN");
    const result = await fn(db);
    await db.query("COMMIT");
    return result;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await db.end();
  }
}

/** Creates the shop's tables and indexes when they are missing (demo/shop-schema.sql). */
export async function applyShopSchema(url: string): Promise<void> {
  await inTransaction(url, async (db) => {
    await db.query(readFileSync(SHOP_SCHEMA_PATH, "utf8"));
  });
}

/**
 * Fills the shop at `url` (its schema is created when missing) with `opts.customers` synthetic
 * customers, their orders (0–4, 1–3 items each), reviews (0–3) and tickets (0–2), and 3
 * warehouses, in one transaction. About 10% of customers share a household address; two
 * customers live at a warehouse's address; 5% have no address.
 */
export async function seedShop(url: string, opts: { customers: number; seed?: number }): Promise<SeedSummary> {
  const n = opts.customers;
  if (!Number.isInteger(n) || n < 0) throw new RangeError("customers must be a non-negative integer");
  await applyShopSchema(url);
  const seed = opts.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  return inTransaction(url, async (db) => {
    const summary: SeedSummary = {
      seed,
      customers: n,
      addresses: WAREHOUSE_SITES.length,
      warehouses: WAREHOUSE_SITES.length,
      orders: 0,
      orderItems: 0,
      reviews: 0,
      supportTickets: 0,
      householdCustomers: 0,
      warehouseSharedAddresses: 0,
      examples: { householdCustomerId: null, warehouseAddressCustomerId: null, fullCustomerId: null },
    };

    const warehouseAddresses = (await reserveIds(db, "addresses", WAREHOUSE_SITES.length)).map((id, i): Address => ({
      ...randomAddress(rng, id, WAREHOUSE_SITES[i]!.country),
      line2: null,
      city: WAREHOUSE_SITES[i]!.city,
    }));
    await insertAddresses(db, warehouseAddresses);
    await insertColumns(db, "warehouses", [
      ["name", "text", WAREHOUSE_SITES.map((w) => w.name)],
      ["address_id", "int", warehouseAddresses.map((a) => a.id)],
    ]);
    // Customer number → warehouse address they share (the customer a third and two thirds of the way in).
    const atWarehouse = new Map<number, Address>();
    if (n >= 3) {
      atWarehouse.set(Math.floor(n / 3), warehouseAddresses[0]!);
      atWarehouse.set(Math.floor((2 * n) / 3), warehouseAddresses[1]!);
    }
    summary.warehouseSharedAddresses = atWarehouse.size;

    for (let start = 0; start < n; start += BATCH_SIZE) {
      const people = (await reserveIds(db, "customers", Math.min(BATCH_SIZE, n - start))).map((id) => ({
        ...randomPerson(rng, id),
        address: null as Address | null,
      }));

      // Addresses: 5% none, 5% move in with an earlier customer of the batch (a household), the rest their own.
      const fresh: Address[] = [];
      for (const [i, p] of people.entries()) {
        const warehouse = atWarehouse.get(start + i);
        if (warehouse) {
          p.address = warehouse;
          continue;
        }
        const roll = rng.next();
        if (roll < 0.05) p.address = null;
        else if (roll < 0.1 && fresh.length > 0) p.address = rng.pick(fresh);
        else {
          p.address = randomAddress(rng, 0, p.country);
          fresh.push(p.address);
        }
      }
      (await reserveIds(db, "addresses", fresh.length)).forEach((id, i) => (fresh[i]!.id = id));
      const residents = new Map<Address, number[]>();
      for (const p of people) if (p.address) residents.set(p.address, [...(residents.get(p.address) ?? []), p.id]);
      for (const a of fresh) {
        const ids = residents.get(a)!;
        if (ids.length < 2) continue;
        summary.householdCustomers += ids.length;
        summary.examples.householdCustomerId ??= ids[0]!;
      }
      for (const a of warehouseAddresses) summary.examples.warehouseAddressCustomerId ??= residents.get(a)?.[0] ?? null;
      await insertAddresses(db, fresh);
      await insertCustomers(db, people);
      summary.addresses += fresh.length;

      const orders: Array<Order & { customerId: number }> = [];
      const reviews: Array<Review & { customerId: number }> = [];
      const tickets: Ticket[] = [];
      for (const p of people) {
        const billing = p.address ?? randomAddress(rng, 0, p.country);
        const counts = [rng.int(0, 4), rng.int(0, 3), rng.int(0, 2)] as const;
        for (let k = 0; k < counts[0]; k++) orders.push({ ...randomOrder(rng, p, billing), customerId: p.id });
        for (let k = 0; k < counts[1]; k++) reviews.push({ ...randomReview(rng, p), customerId: p.id });
        for (let k = 0; k < counts[2]; k++) tickets.push(randomTicket(rng, p));
        const hasOwnAddress = p.address !== null && !warehouseAddresses.includes(p.address) && residents.get(p.address)!.length === 1;
        if (hasOwnAddress && counts.every((c) => c > 0)) summary.examples.fullCustomerId ??= p.id;
      }
      const orderIds = await reserveIds(db, "orders", orders.length);
      await insertActivity(
        db,
        orders.map((o, i) => ({ ...o, id: orderIds[i]! })),
        reviews,
        tickets,
      );
      summary.orders += orders.length;
      summary.orderItems += orders.reduce((sum, o) => sum + o.items.length, 0);
      summary.reviews += reviews.length;
      summary.supportTickets += tickets.length;
    }
    return summary;
  });
}

/**
 * Inserts one customer whose every personal text value contains `marker` (email
 * `<marker>@example.com`, name, phone, an address of its own, the billing fields of 2 orders,
 * 2 reviews, 1 ticket), so a test can erase it and then search every table for the marker.
 * Creates the schema when missing. Returns the customer id.
 */
export async function seedMarkedCustomer(url: string, marker: string): Promise<number> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,40}$/.test(marker)) throw new RangeError("marker must be 3–41 letters, digits, '.', '_' or '-'");
  await applyShopSchema(url);
  return inTransaction(url, async (db) => {
    const email = `${marker}@example.com`;
    const name = `Marked ${marker} Person`;
    const phone = `+49 30 ${marker}`;
    const address = await db.query<{ id: number }>(
      `INSERT INTO public.addresses (line1, line2, city, postcode, country) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [`${marker} Street 1`, `Flat ${marker}`, `${marker}ville`, `PC-${marker}`, `DE ${marker}`],
    );
    const customer = await db.query<{ id: number }>(
      `INSERT INTO public.customers (email, full_name, phone, birth_date, address_id, marketing_opt_in, created_at, last_login_at)
       VALUES ($1, $2, $3, '1980-02-29', $4, true, '2021-03-04T10:00:00Z', '2025-05-06T07:08:09Z') RETURNING id`,
      [email, name, phone, address.rows[0]!.id],
    );
    const id = customer.rows[0]!.id;
    const billing = { billingName: name, billingEmail: email, billingAddress: `${marker} Street 1, Flat ${marker}, PC-${marker} ${marker}ville, DE ${marker}` };
    const orderIds = await reserveIds(db, "orders", 2);
    // prettier-ignore
    await insertActivity(
      db,
      [
        { ...billing, id: orderIds[0]!, customerId: id, placedAt: Date.UTC(2022, 0, 10), totalCents: 1380, billingIp: "203.0.113.77", items: [{ sku: "TEA-GREEN-100", quantity: 2, priceCents: 690 }] },
        { ...billing, id: orderIds[1]!, customerId: id, placedAt: Date.UTC(2024, 10, 2), totalCents: 3990, billingIp: "2001:db8::77", items: [{ sku: "KETTLE-1L", quantity: 1, priceCents: 3990 }] },
      ],
      [
        { customerId: id, productSku: "TEA-GREEN-100", rating: 5, body: `Great tea, says ${marker}.`, createdAt: Date.UTC(2022, 1, 1) },
        { customerId: id, productSku: "KETTLE-1L", rating: 2, body: `Kettle broke after a week. — ${name}`, createdAt: Date.UTC(2024, 10, 20) },
      ],
      [{ customerEmail: email, subject: `Refund for ${marker}`, body: `Hello, I am ${name} (${email}, ${phone}). Please refund my kettle.`, openedAt: Date.UTC(2024, 10, 21) }],
    );
    return id;
  });
}

/** Creates the database `url` names when it does not exist yet (through the server's `postgres` database). */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name) throw new RangeError("the URL names no database");
  const server = new URL(url);
  server.pathname = "/postgres";
  const admin = new Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/** `tsx demo/seed.ts <url> [customers] [seed]`: creates the database and schema when missing, seeds a shop that has no customers yet. */
async function main(args: readonly string[]): Promise<void> {
  const [url, customers = "1000", seed] = args;
  if (!url) throw new Error("usage: tsx demo/seed.ts <postgres-url> [customers] [seed]");
  await ensureDatabase(url);
  await applyShopSchema(url);
  const isSeeded = await inTransaction(url, async (db) => (await db.query("SELECT 1 FROM public.customers LIMIT 1")).rowCount !== 0);
  if (isSeeded) {
    process.stdout.write("the shop already has customers; not seeding it again\n");
    return;
  }
  const summary = await seedShop(url, { customers: Number(customers), ...(seed === undefined ? {} : { seed: Number(seed) }) });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`seed failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
