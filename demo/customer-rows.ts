import type { ClientBase } from "pg";

/**
 * One demo-shop customer's rows in every table, read straight from the shop's database (not
 * through Lethe), so the demo can show them before and after an erasure. The rows are found once,
 * before, and remembered by id: afterwards the same rows are looked up again, whatever Lethe did.
 */

/** Which rows belong to the customer, captured before anything changes. */
export interface CustomerRowIds {
  customerId: number;
  /** The customer's email as it was (tickets name the customer by email). */
  email: string;
  addressId: number | null;
  orderIds: number[];
  reviewIds: number[];
  ticketIds: number[];
}

/** The rows themselves; a row that no longer exists is missing (or null). */
export interface CustomerRows {
  customer: Record<string, unknown> | null;
  address: Record<string, unknown> | null;
  /** Customers and warehouses (other than this customer) that use the same address. */
  addressOtherUsers: number;
  orders: Array<Record<string, unknown>>;
  /** Order items of those orders, in all. */
  orderItems: number;
  reviews: Array<Record<string, unknown>>;
  tickets: Array<Record<string, unknown>>;
}

/** Finds the customer's rows; throws when the customer does not exist. */
export async function findCustomerRowIds(db: ClientBase, customerId: number): Promise<CustomerRowIds> {
  const c = await db.query<{ email: string; address_id: number | null }>("SELECT email, address_id FROM public.customers WHERE id = $1", [customerId]);
  const row = c.rows[0];
  if (!row) throw new Error(`the shop has no customer ${customerId}`);
  const ids = async (sql: string, param: unknown): Promise<number[]> => (await db.query<{ id: number }>(sql, [param])).rows.map((r) => r.id);
  return {
    customerId,
    email: row.email,
    addressId: row.address_id,
    orderIds: await ids("SELECT id FROM public.orders WHERE customer_id = $1 ORDER BY id", customerId),
    reviewIds: await ids("SELECT id FROM public.reviews WHERE customer_id = $1 ORDER BY id", customerId),
    ticketIds: await ids("SELECT id FROM public.support_tickets WHERE customer_email = $1 ORDER BY id", row.email),
  };
}

/** Reads the rows `ids` names, as they are now. */
export async function readCustomerRows(db: ClientBase, ids: CustomerRowIds): Promise<CustomerRows> {
  const customer = await db.query(
    `SELECT id, email, full_name, phone, birth_date::text AS birth_date, address_id, marketing_opt_in, created_at, last_login_at
       FROM public.customers WHERE id = $1`,
    [ids.customerId],
  );
  const address = await db.query("SELECT id, line1, line2, city, postcode, country FROM public.addresses WHERE id = $1", [ids.addressId]);
  const others = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM public.customers WHERE address_id = $1 AND id <> $2)
           + (SELECT count(*) FROM public.warehouses WHERE address_id = $1))::int AS n`,
    [ids.addressId, ids.customerId],
  );
  const orders = await db.query(
    `SELECT o.id, o.customer_id, o.placed_at, o.total_cents, o.billing_name, o.billing_email, o.billing_address, host(o.billing_ip) AS billing_ip,
            (SELECT count(*) FROM public.order_items i WHERE i.order_id = o.id)::int AS items
       FROM public.orders o WHERE o.id = ANY($1::int[]) ORDER BY o.id`,
    [ids.orderIds],
  );
  const reviews = await db.query("SELECT id, customer_id, product_sku, rating, body, created_at FROM public.reviews WHERE id = ANY($1::int[]) ORDER BY id", [
    ids.reviewIds,
  ]);
  const tickets = await db.query("SELECT id, customer_email, subject, body, opened_at FROM public.support_tickets WHERE id = ANY($1::int[]) ORDER BY id", [
    ids.ticketIds,
  ]);
  return {
    customer: customer.rows[0] ?? null,
    address: address.rows[0] ?? null,
    addressOtherUsers: others.rows[0]?.n ?? 0,
    orders: orders.rows,
    orderItems: orders.rows.reduce((sum, o: { items: number }) => sum + o.items, 0),
    reviews: reviews.rows,
    tickets: tickets.rows,
  };
}

/** How many rows of each table of schema `public` contain `text` anywhere in the row (as text). */
export async function countMentions(db: ClientBase, text: string): Promise<Record<string, number>> {
  const tables = await db.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const ident = `"${name.replace(/"/g, '""')}"`;
    const res = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${ident} t WHERE strpos(t::text, $1) > 0`, [text]);
    counts[name] = res.rows[0]?.n ?? 0;
  }
  return counts;
}
