import type { DataMap } from "../../src/datamap/schema";
import { withClient } from "./db";
import { sortKeys, type ChecksumDiff } from "./row-checksums";

/** What an erasure of one demo-shop customer (demo/lethe.config.json) must report and change. */

/** A step as a view shows it. */
export interface StepLike {
  store: string;
  table: string;
  action: string;
  rows: number;
  ground?: string;
}

/** Steps sorted by table then action, so receipts compare regardless of plan order. */
export function sortSteps<T extends StepLike>(steps: readonly T[]): T[] {
  return [...steps].sort((a, b) => `${a.table}/${a.action}`.localeCompare(`${b.table}/${b.action}`));
}

/** One demo-shop customer's rows, read before anything is erased. */
export interface ShopSubject {
  id: number;
  email: string;
  addressId: number;
  orders: number[];
  orderItems: number[];
  reviews: number[];
  tickets: number[];
}

/** Reads a demo-shop customer's rows (the customer must have an address of their own, as `seedMarkedCustomer` gives). */
export async function shopSubject(url: string, id: number): Promise<ShopSubject> {
  return withClient(url, async (c) => {
    const customer = (await c.query<{ email: string; address_id: number }>(`SELECT email, address_id FROM customers WHERE id = $1`, [id])).rows[0];
    if (!customer) throw new Error(`no customer ${id}`);
    const ids = async (sql: string, p: unknown) => (await c.query<{ id: number }>(sql, [p])).rows.map((r) => r.id).sort((a, b) => a - b);
    return {
      id,
      email: customer.email,
      addressId: customer.address_id,
      orders: await ids(`SELECT id FROM orders WHERE customer_id = $1`, id),
      orderItems: await ids(`SELECT oi.id FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE o.customer_id = $1`, id),
      reviews: await ids(`SELECT id FROM reviews WHERE customer_id = $1`, id),
      tickets: await ids(`SELECT id FROM support_tickets WHERE customer_email = $1`, customer.email),
    };
  });
}

/** The steps a first erasure (or preview) of `s` must report with the demo data map, sorted. */
export function shopSteps(s: ShopSubject, dataMap: DataMap): StepLike[] {
  const store = dataMap.stores.shop;
  const ground = (table: string): string => {
    const t = store?.kind === "postgres" ? store.tables[table] : undefined;
    return t?.action === "keep" ? (t.ground ?? "") : "";
  };
  return sortSteps([
    { store: "shop", table: "customers", action: "delete", rows: 1 },
    { store: "shop", table: "addresses", action: "delete", rows: 1 },
    { store: "shop", table: "orders", action: "keep", rows: s.orders.length, ground: ground("orders") },
    { store: "shop", table: "order_items", action: "keep", rows: s.orderItems.length, ground: ground("order_items") },
    { store: "shop", table: "reviews", action: "delete", rows: s.reviews.length },
    { store: "shop", table: "support_tickets", action: "delete", rows: s.tickets.length },
  ]);
}

/** What a completed erasure of `s` does to the shop, as {@link diffChecksums} reports it. */
export function shopErasureDiff(s: ShopSubject): ChecksumDiff {
  return {
    removed: sortKeys([
      `customers:${s.id}`,
      `addresses:${s.addressId}`,
      ...s.reviews.map((r) => `reviews:${r}`),
      ...s.tickets.map((t) => `support_tickets:${t}`),
    ]),
    changed: sortKeys(s.orders.map((o) => `orders:${o}`)),
    added: [],
  };
}
