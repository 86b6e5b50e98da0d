import type { Queue } from "bullmq";
import { seedShop } from "../../demo/seed";
import { checkDataMap } from "../../src/datamap/check";
import { loadChinook } from "../helpers/db";
import { CHINOOK_MAP, SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums } from "../helpers/row-checksums";
import { auditOf, query, retentionQueue, sweep, withPolicies } from "./helpers";

type Customer = {
  id: number;
  email: string;
  full_name: string;
  phone: string | null;
  birth_date: string | null;
  address_id: number | null;
  marketing_opt_in: boolean;
  created_at: string;
  last_login_at: string | null;
};

const CUSTOMERS = `SELECT id, email, full_name, phone, birth_date::text, address_id, marketing_opt_in, created_at::text, last_login_at::text FROM customers ORDER BY id`;

describe("retention sweep on the demo shop", () => {
  let h: LetheHarness;
  let queue: Queue;

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      prepare: (url) => seedShop(url, { customers: 3000 }).then(() => undefined),
      editMap: withPolicies(
        { name: "dormant", store: "shop", table: "customers", age: { column: "last_login_at", olderThan: "P3Y" }, action: "anonymize", batchSize: 256 },
        { name: "tickets", store: "shop", table: "support_tickets", age: { column: "opened_at", olderThan: "P2Y" }, action: "delete", batchSize: 100 },
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
    expect(await checkDataMap(h.dataMap)).toEqual([]);
  });

  it("a dry run counts exactly what the run then changes, and changes nothing itself", async () => {
    const before = await rowChecksums(h.appDb.url);
    const dry = await sweep(h, queue, "dormant", { dryRun: true });
    expect(dry).toMatchObject({ status: "completed" });
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
    const due = await query<{ n: number }>(h.appDb.url, `SELECT count(*)::int AS n FROM customers WHERE last_login_at < $1`, [dry.cutoff]);
    expect(due[0]!.n).toBeGreaterThan(100);
    expect(dry.rows).toEqual({ matched: due[0]!.n, changed: 0, wouldChange: due[0]!.n, held: 0 });
    // Batches hold at most batchSize due rows (fewer while the run measures its batches' cost).
    expect(dry.batches).toBeGreaterThanOrEqual(Math.ceil(due[0]!.n / 256));
    expect((await auditOf(h, dry.id)).map((a) => a.event)).toEqual(["retention.previewed"]);
  });

  it("anonymizes exactly the customers past the cutoff with the table's masks, and a second run changes nothing", async () => {
    const before = await query<Customer>(h.appDb.url, CUSTOMERS);
    const run = await sweep(h, queue, "dormant");
    expect(run).toMatchObject({ status: "completed" });
    const cutoff = new Date(run.cutoff).getTime();
    const after = new Map((await query<Customer>(h.appDb.url, CUSTOMERS)).map((c) => [c.id, c]));
    // Every row as it must be: due rows masked by the table's masks, all other columns and rows untouched.
    const maskedEmail: unknown = expect.stringMatching(/^[0-9a-f]{24}@erased\.invalid$/);
    const isDue = (b: Customer) => b.last_login_at !== null && new Date(b.last_login_at).getTime() < cutoff;
    const expected = before.map((b) =>
      isDue(b)
        ? {
            ...b,
            email: maskedEmail,
            full_name: "[erased]",
            phone: null,
            birth_date: b.birth_date === null ? null : `${b.birth_date.slice(0, 4)}-01-01`,
            last_login_at: null,
          }
        : b,
    );
    expect(before.map((b) => after.get(b.id))).toEqual(expected);
    const due = before.filter(isDue).length;
    expect(due).toBeGreaterThan(100);
    expect(run.rows).toEqual({ matched: due, changed: due, held: 0 });
    expect(run.batches).toBeGreaterThanOrEqual(Math.ceil(due / 256));

    const [audit] = await auditOf(h, run.id);
    expect(audit).toMatchObject({ event: "retention.completed", detail: { policy: "dormant", action: "anonymize", changed: due, held: 0 } });
    const auditText = JSON.stringify(audit);
    for (const b of before.slice(0, 200)) expect(auditText).not.toContain(b.email);

    const settled = await rowChecksums(h.appDb.url);
    const again = await sweep(h, queue, "dormant");
    expect(again.rows.changed).toBe(0);
    expect(diffChecksums(settled, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
  });

  it("deletes exactly the tickets past the cutoff", async () => {
    const before = await query<{ id: number; opened_at: Date }>(h.appDb.url, `SELECT id, opened_at FROM support_tickets ORDER BY id`);
    const others = await rowChecksums(h.appDb.url);
    const run = await sweep(h, queue, "tickets");
    expect(run).toMatchObject({ status: "completed" });
    const cutoff = new Date(run.cutoff).getTime();
    const kept = before.filter((t) => t.opened_at.getTime() >= cutoff).map((t) => t.id);
    const left = (await query<{ id: number }>(h.appDb.url, `SELECT id FROM support_tickets ORDER BY id`)).map((t) => t.id);
    expect(left).toEqual(kept);
    expect(run.rows).toEqual({ matched: before.length - kept.length, changed: before.length - kept.length, held: 0 });
    expect(before.length - kept.length).toBeGreaterThan(50);
    const diff = diffChecksums(others, await rowChecksums(h.appDb.url));
    expect(diff.changed).toEqual([]);
    expect(diff.removed.every((k) => k.startsWith("support_tickets:"))).toBe(true);
    expect(diff.removed).toHaveLength(before.length - kept.length);
  });
});

describe("retention sweep on Chinook", () => {
  let h: LetheHarness;
  let queue: Queue;
  let olderThan = "";

  beforeAll(async () => {
    h = await createHarness({
      map: CHINOOK_MAP,
      prepare: async (url) => {
        await loadChinook(url);
        // A cutoff at the median invoice date, as a duration back from now.
        const [m] = await query<{ days: number }>(
          url,
          `SELECT (current_date - percentile_disc(0.5) WITHIN GROUP (ORDER BY invoice_date)::date) AS days FROM invoice`,
        );
        olderThan = `P${m!.days}D`;
      },
      editMap: (raw) =>
        withPolicies({ name: "old-invoices", store: "main", table: "invoice", age: { column: "invoice_date", olderThan }, action: "anonymize", batchSize: 50 })(
          raw,
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
    expect(await checkDataMap(h.dataMap)).toEqual([]);
  });

  it("masks the billing address of invoices past the cutoff (keeping date, total and country), and only those", async () => {
    const cols = `invoice_id, customer_id, invoice_date::text AS invoice_date, billing_address, billing_city, billing_state, billing_country, billing_postal_code, total::text AS total`;
    const before = await query<Record<string, string | null> & { invoice_id: number; invoice_date: string }>(
      h.appDb.url,
      `SELECT ${cols} FROM invoice ORDER BY invoice_id`,
    );
    const run = await sweep(h, queue, "old-invoices");
    expect(run).toMatchObject({ status: "completed" });
    const after = new Map(
      (await query<Record<string, string | null> & { invoice_id: number }>(h.appDb.url, `SELECT ${cols} FROM invoice ORDER BY invoice_id`)).map((r) => [
        r.invoice_id,
        r,
      ]),
    );
    const [{ cut }] = (await query<{ cut: string }>(h.appDb.url, `SELECT $1::timestamptz::timestamp::text AS cut`, [run.cutoff])) as [{ cut: string }];
    const isDue = (b: { invoice_date: string }) => b.invoice_date < cut;
    const masked = { billing_address: null, billing_city: null, billing_state: null, billing_postal_code: null };
    expect(before.map((b) => after.get(b.invoice_id))).toEqual(before.map((b) => (isDue(b) ? { ...b, ...masked } : b)));
    const due = before.filter(isDue).length;
    const unmaskedBefore = before.filter((b) => isDue(b) && Object.keys(masked).some((k) => b[k] !== null)).length;
    expect(due).toBeGreaterThan(150);
    expect(due).toBeLessThan(before.length);
    expect(run.rows).toEqual({ matched: due, changed: unmaskedBefore, held: 0 });

    const settled = await rowChecksums(h.appDb.url);
    const again = await sweep(h, queue, "old-invoices");
    expect(again.rows).toEqual({ matched: due, changed: 0, held: 0 });
    expect(diffChecksums(settled, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
  });
});
