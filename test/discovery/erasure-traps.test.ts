import { TRAPS, loadTraps } from "../fixtures/traps/seed";
import { TRAPS_MAP } from "../helpers/data-maps";
import { queryRows } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums, sortKeys } from "../helpers/row-checksums";
import { sortSteps } from "../helpers/shop";
import { markErasureDiff, rowKeys } from "./traps";

/**
 * Erasures on the trap shop (issue 9). Each compares a per-row checksum snapshot of every table
 * before and after: exactly the expected rows changed, nothing else (BEFORE UPDATE triggers touch
 * `last_update`, so even a no-op UPDATE of someone else's row would show).
 */
describe("erasure on the trap shop", () => {
  let h: LetheHarness;

  beforeAll(async () => {
    h = await createHarness({ map: TRAPS_MAP, prepare: (url) => loadTraps(url) });
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("item 3: a mixed-case or padded email finds the stored lower-case subject (a preview of each)", async () => {
    for (const email of ["ZQXMARK8@example.com", "  zqxmark8@example.com"]) {
      const before = await rowChecksums(h.appDb.url);
      const { request } = await h.submit({ email }, { dryRun: true });
      const view = await h.waitForStatus(request.id, ["completed", "failed"]);
      expect(view.status).toBe("completed");
      // Today's main: no row matched, steps [] and a "verified" receipt. Now every table of the subject is planned.
      const rows = Object.fromEntries(view.steps.filter((s) => s.action !== "shared").map((s) => [s.table, s.rows]));
      expect(rows).toEqual({
        customers: 1,
        addresses: 1,
        orders: 2,
        payments: 3,
        support_tickets: 2,
        newsletter_signups: 1,
        reviews: 2,
        page_views: expect.any(Number),
      });
      expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
    }
  });

  it("items 1, 3 and 13: erasing by a mixed-case email reaches every partition (also the one without an FK), email-linked rows stored padded, and never changes an employee", async () => {
    const expected = await markErasureDiff(h.appDb.url);
    // The payment in the newest partition, which declares no foreign key, is among the rows to go.
    expect(expected.removed.filter((k) => k.startsWith('payments_2024_03:["900003"'))).toHaveLength(1);
    expect(expected.removed.filter((k) => k.startsWith("support_tickets:"))).toHaveLength(2);
    const before = await rowChecksums(h.appDb.url);
    const employeeBefore = await queryRows(h.appDb.url, `SELECT * FROM employees WHERE id = $1`, [TRAPS.mark.soleEmployee]);

    const { request } = await h.submit({ email: "ZQXMARK8@example.com" });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.error).toBeNull();
    expect(view.status).toBe("completed");

    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(expected);
    // Employee 9 was referenced only by this customer's order: still exactly as it was (item 13).
    expect(await queryRows(h.appDb.url, `SELECT * FROM employees WHERE id = $1`, [TRAPS.mark.soleEmployee])).toEqual(employeeBefore);
    // The kept orders are masked and detached from the deleted customer.
    const orders = await queryRows<{ customer_id: number | null; ship_name: string; sales_rep_id: number }>(
      h.appDb.url,
      `SELECT customer_id, ship_name, sales_rep_id FROM orders WHERE id IN (1, 2) ORDER BY id`,
    );
    expect(orders).toEqual([
      { customer_id: null, ship_name: "[erased]", sales_rep_id: 3 },
      { customer_id: null, ship_name: "[erased]", sales_rep_id: 9 },
    ]);
    expect(sortSteps(view.steps).find((s) => s.table === "payments")).toEqual({ store: "shop", table: "payments", action: "delete", rows: 3 });
  });

  it("item 7: an address someone else uses (an employee, another customer) is left and reported shared; the customer's own goes", async () => {
    for (const { id, addressId } of [TRAPS.sharesWithEmployee, { id: TRAPS.household.ids[0], addressId: TRAPS.household.addressId }]) {
      const before = await rowChecksums(h.appDb.url);
      const removedAddresses = await rowKeys(h.appDb.url, "addresses", "id = $1", [addressId]);
      const { request } = await h.submit({ id: String(id) });
      const view = await h.waitForStatus(request.id, ["completed", "failed"]);
      expect(view.status).toBe("completed");
      expect(view.steps).toContainEqual({ store: "shop", table: "addresses", action: "shared", rows: 1 });
      const diff = diffChecksums(before, await rowChecksums(h.appDb.url));
      expect(diff.removed).toContain(`customers:${id}`);
      expect(diff.removed.filter((k) => k.startsWith("addresses:"))).toEqual([]);
      expect(sortKeys(diff.changed.filter((k) => !k.startsWith("orders:")))).toEqual([]);
      expect(removedAddresses).toEqual([`addresses:${addressId}`]);
    }
  });
});
