import type { Queue } from "bullmq";
import { checkDataMap } from "../../src/datamap/check";
import { subjectHash } from "../../src/subject/hashes";
import { loadTraps } from "../fixtures/traps/seed";
import { rowKeys } from "../discovery/traps";
import { TRAPS_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums, sortKeys } from "../helpers/row-checksums";
import { query, retentionQueue, sweep, withPolicies } from "./helpers";

/**
 * Issue 9, items 5 and 9 on the trap shop: a sweep has erasure's reach (a delete cascades through
 * foreign keys declared on some partitions only, `via` links by normalised email and by
 * `<name>_id` / `<name>Id` columns; an anonymize masks the same person in linked tables, unless
 * the policy leaves them with a reason), and ages can be "last order" or the greatest of several,
 * with relative or absolute cutoffs and comparison operators.
 */

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const HELD = 7;
const EMAILS = `SELECT lower(btrim(email)) FROM customers WHERE id = ANY($1::int[])`;

describe("retention with erasure's reach on the trap shop", () => {
  let h: LetheHarness;
  let queue: Queue;

  beforeAll(async () => {
    h = await createHarness({
      map: TRAPS_MAP,
      prepare: async (url) => {
        await loadTraps(url, { customers: 300 });
        // Customers 100..109 last ordered four years ago; 110 once four years ago and once recently.
        await query(url, `UPDATE orders SET ordered_at = now() - interval '4 years' WHERE customer_id BETWEEN 100 AND 109 OR id = 2 * 110 - 1`);
        await query(url, `UPDATE orders SET ordered_at = now() - interval '1 day' WHERE id = 2 * 110`);
      },
      editMap: withPolicies(
        {
          name: "purge",
          store: "shop",
          table: "customers",
          age: { column: "created_at", olderThan: "P1D" },
          where: [{ column: "id", op: "<=", value: 40 }],
          action: "delete",
          batchSize: 16,
        },
        {
          name: "dormant",
          store: "shop",
          table: "customers",
          age: { column: "created_at", before: "2030-01-01T00:00:00Z" },
          where: [
            { column: "id", op: ">=", value: 41 },
            { column: "id", op: "<", value: 61 },
          ],
          action: "anonymize",
          batchSize: 8,
        },
        {
          name: "dormant-leave",
          store: "shop",
          table: "customers",
          age: { column: "created_at", olderThan: "P1D" },
          where: [{ column: "id", op: "in", value: range(61, 70) }],
          action: "anonymize",
          linked: "leave",
          reason: "orders and tickets have their own policies",
        },
        {
          name: "last-order",
          store: "shop",
          table: "customers",
          age: { max: "orders.ordered_at", olderThan: "P3Y" },
          action: "anonymize",
          linked: "leave",
          reason: "test of the age only",
        },
        {
          name: "last-activity",
          store: "shop",
          table: "customers",
          age: { greatest: [{ column: "created_at" }, { max: "orders.ordered_at" }], before: "2023-06-01" },
          action: "anonymize",
          linked: "leave",
          reason: "test of the age only",
        },
      ),
    });
    queue = retentionQueue(h);
    await h.startWorker({ queues: ["retention"] });
  });

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
  });

  it("passes lethe check", async () => {
    // The trap's partitions declare different foreign keys on purpose: warnings only.
    expect((await checkDataMap(h.dataMap)).filter((p) => p.severity !== "warning")).toEqual([]);
  });

  it("a delete cascades through every link in the batch transaction: partitions, via by email (mixed case, padded), <name>_id and <name>Id; kept orders are masked and let go; held subjects stay", async () => {
    await h.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, created_by) VALUES ($1, 'litigation', 'test')`, [
      subjectHash(h.config.hmacKey, "id", String(HELD)),
    ]);
    const url = h.appDb.url;
    const doomed = range(1, 40).filter((id) => id !== HELD);
    const p = [doomed];
    const email = (col: string) => `lower(btrim(${col})) IN (${EMAILS})`;
    const removed = [
      ...(await rowKeys(url, "customers", "id = ANY($1::int[])", p)),
      ...(await rowKeys(url, "payments", "customer_id = ANY($1::int[])", p)),
      ...(await rowKeys(url, "support_tickets", email("customer_email"), p)),
      ...(await rowKeys(url, "newsletter_signups", email("email"), p)),
      ...(await rowKeys(url, "reviews", "customer_id = ANY($1::int[])", p)),
      ...(await rowKeys(url, "page_views", `"customerId" = ANY($1::int[])`, p)),
    ];
    const changed = await rowKeys(url, "orders", "customer_id = ANY($1::int[])", p);
    const count = (table: string) => removed.filter((k) => k.startsWith(`${table}:`)).length;
    expect(count("support_tickets")).toBeGreaterThanOrEqual(2 + 36);
    expect(count("newsletter_signups")).toBeGreaterThan(10);
    expect(removed.some((k) => k.startsWith("payments_2024_03:"))).toBe(true);

    const before = await rowChecksums(url);
    const dry = await sweep(h, queue, "purge", { dryRun: true });
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({ removed: [], changed: [], added: [] });
    const run = await sweep(h, queue, "purge");
    expect(run.rows).toEqual({ matched: 40, changed: doomed.length, held: 1 });
    const cascaded = {
      orders: changed.length,
      payments: count("payments"),
      support_tickets: count("support_tickets"),
      newsletter_signups: count("newsletter_signups"),
      reviews: count("reviews"),
      page_views: count("page_views"),
    };
    expect(run.cascaded).toEqual(cascaded);
    expect(dry.cascaded).toEqual(cascaded);
    // Exactly these rows removed and changed; employees, shops, addresses and everyone else untouched.
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({ removed: sortKeys(removed), changed: sortKeys(changed), added: [] });
    const [left] = await query<{ orphans: number; named: number }>(
      url,
      `SELECT (SELECT count(*) FROM support_tickets s WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE lower(btrim(c.email)) = lower(btrim(s.customer_email))))
            + (SELECT count(*) FROM reviews r WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id))
            + (SELECT count(*) FROM page_views v WHERE v."customerId" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = v."customerId"))
            + (SELECT count(*) FROM payments y WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = y.customer_id)) AS orphans,
              (SELECT count(*) FROM orders WHERE customer_id IS NULL AND ship_name <> '[erased]') AS named`,
    );
    expect(left).toEqual({ orphans: "0", named: "0" });
  });

  it("an anonymize masks the same people in linked tables (orders' recipient, tickets and signups by email, reviews) and reports it per table", async () => {
    const url = h.appDb.url;
    const ids = range(41, 60);
    const p = [ids];
    const email = (col: string) => `lower(btrim(${col})) IN (${EMAILS})`;
    const changed = [
      ...(await rowKeys(url, "customers", "id = ANY($1::int[])", p)),
      ...(await rowKeys(url, "orders", "customer_id = ANY($1::int[])", p)),
      ...(await rowKeys(url, "support_tickets", email("customer_email"), p)),
      ...(await rowKeys(url, "newsletter_signups", email("email"), p)),
      ...(await rowKeys(url, "reviews", "customer_id = ANY($1::int[])", p)),
    ];
    const count = (table: string) => changed.filter((k) => k.startsWith(`${table}:`)).length;
    const before = await rowChecksums(url);
    const run = await sweep(h, queue, "dormant");
    expect(run.rows).toEqual({ matched: 20, changed: 20, held: 0 });
    expect(run.cascaded).toEqual({
      orders: count("orders"),
      support_tickets: count("support_tickets"),
      newsletter_signups: count("newsletter_signups"),
      reviews: count("reviews"),
    });
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({ removed: [], changed: sortKeys(changed), added: [] });
    const [named] = await query<{ n: string }>(
      url,
      `SELECT count(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id
        WHERE c.id BETWEEN 41 AND 60 AND (o.ship_name <> '[erased]' OR o.ship_address <> '[erased]')`,
    );
    expect(named!.n).toBe("0");
    const again = await sweep(h, queue, "dormant");
    expect(again.rows.changed).toBe(0);
    expect(again.cascaded).toEqual({});
  });

  it('`linked: "leave"` (with its reason) anonymizes the swept rows only', async () => {
    const url = h.appDb.url;
    const before = await rowChecksums(url);
    const run = await sweep(h, queue, "dormant-leave");
    expect(run.rows).toEqual({ matched: 10, changed: 10, held: 0 });
    expect(run.cascaded).toEqual({});
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({
      removed: [],
      changed: sortKeys(await rowKeys(url, "customers", "id BETWEEN 61 AND 70")),
      added: [],
    });
  });

  it('"customers whose last order is older than three years" matches exactly them; the greatest of several ages with an absolute cutoff too', async () => {
    const url = h.appDb.url;
    const activity = await sweep(h, queue, "last-activity", { dryRun: true });
    expect(activity.rows).toEqual({ matched: 10, changed: 0, wouldChange: 10, held: 0 });
    const before = await rowChecksums(url);
    const run = await sweep(h, queue, "last-order");
    expect(run.rows).toEqual({ matched: 10, changed: 10, held: 0 });
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({
      removed: [],
      changed: sortKeys(await rowKeys(url, "customers", "id BETWEEN 100 AND 109")),
      added: [],
    });
  });
});
