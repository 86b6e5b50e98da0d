import { randomBytes } from "node:crypto";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { sealAuditLog, verifyAuditChain } from "../../src/audit/log";
import type { PostgresStoreSpec } from "../../src/stores/postgres/schema";
import { requestJobId } from "../../src/queues/jobs/erase-request";
import type { RequestView } from "../../src/requests/view";
import { subjectHash } from "../../src/subject/hashes";
import { CHINOOK_MAP, SHOP_MAP } from "../helpers/data-maps";
import { loadChinook, queryRows as query, runSql } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, NO_CHANGE, rowChecksums, rowsContaining, sortKeys } from "../helpers/row-checksums";
import { shopErasureDiff, shopSteps, shopSubject, sortSteps } from "../helpers/shop";
import { waitFor } from "../helpers/wait";

const byTable = (v: RequestView) => sortSteps(v.steps);

describe("erasure worker end to end: demo shop", () => {
  let h: LetheHarness;
  const tag = randomBytes(4).toString("hex");
  const markers = { erase: `e2e-erase-${tag}`, preview: `e2e-preview-${tag}`, again: `e2e-again-${tag}` };
  const ids: Record<keyof typeof markers, number> = { erase: 0, preview: 0, again: 0 };

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      prepare: async (url) => {
        await seedShop(url, { customers: 200 });
        for (const k of Object.keys(markers) as Array<keyof typeof markers>) ids[k] = await seedMarkedCustomer(url, markers[k]);
      },
    });
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("erases a marked customer by id: rows deleted or masked, every other row untouched, receipt and audit right", async () => {
    const id = ids.erase;
    const marker = markers.erase;
    const rows = await shopSubject(h.appDb.url, id);
    expect(rows.orders.length).toBeGreaterThan(0);
    expect(rows.reviews.length).toBeGreaterThan(0);
    expect(rows.tickets.length).toBeGreaterThan(0);
    const expected = shopErasureDiff(rows);
    // The seed put the marker in exactly these rows (order items hold no personal data).
    expect(await rowsContaining(h.appDb.url, marker)).toEqual([...expected.removed, ...expected.changed].sort());
    const ordersBefore = await query(h.appDb.url, `SELECT id, placed_at, total_cents FROM orders WHERE id = ANY($1) ORDER BY id`, [rows.orders]);
    const before = await rowChecksums(h.appDb.url);

    const { request, created } = await h.submit({ id: String(id) });
    expect(created).toBe(true);
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.error).toBeNull();

    expect(await rowsContaining(h.appDb.url, marker)).toEqual([]);
    const orders = await query(h.appDb.url, `SELECT * FROM orders WHERE id = ANY($1) ORDER BY id`, [rows.orders]);
    expect(orders).toHaveLength(rows.orders.length);
    for (const [i, o] of orders.entries()) {
      expect(o).toMatchObject({ customer_id: null, billing_name: "[erased]", billing_address: "[erased]", billing_ip: null });
      expect(o.billing_email).toMatch(/^[0-9a-f]{24}@erased\.invalid$/);
      expect({ id: o.id, placed_at: o.placed_at, total_cents: o.total_cents }).toEqual(ordersBefore[i]);
    }
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(expected);

    expect(byTable(view)).toEqual(shopSteps(rows, h.dataMap));

    const [req] = (await h.ds.query(`SELECT identities, result FROM lethe.subject_request WHERE id = $1`, [request.id])) as Array<{
      identities: Buffer | null;
      result: { subjectFound: boolean };
    }>;
    expect(req!.identities).toBeNull();
    expect(req!.result.subjectFound).toBe(true);
    const audit = (await h.ds.query(
      `SELECT event, subject_hash, detail, row_to_json(a)::text AS whole FROM lethe.audit_log a WHERE request_id = $1 ORDER BY id`,
      [request.id],
    )) as Array<{ event: string; subject_hash: string; whole: string }>;
    expect(audit.map((a) => a.event)).toEqual(["request.received", "erasure.completed"]);
    const done = audit[1]!;
    expect(done.subject_hash).not.toBe(String(id));
    expect(done.subject_hash).toBe(subjectHash(h.config.hmacKey, "id", String(id)));
    for (const a of audit) {
      expect(a.whole).not.toContain(marker);
      expect(a.whole).not.toContain(rows.email);
    }
    // The worker's own sealer may hold the chain's lock right now: seal until nothing is left.
    const chain = await waitFor(
      async () => {
        await sealAuditLog(h.ds);
        const report = await verifyAuditChain(h.ds);
        return report.unsealed === 0 ? report : undefined;
      },
      "the audit log to be sealed",
      10_000,
      50,
    );
    expect(chain).toEqual({ brokenAt: null, sealed: expect.any(Number), unsealed: 0 });
    const sealed = (await h.ds.query(`SELECT count(*)::int AS n FROM lethe.audit_log WHERE seq IS NOT NULL AND request_id = $1`, [request.id])) as Array<{
      n: number;
    }>;
    expect(sealed[0]!.n).toBe(2);
  });

  it("previews by email: the same counts, nothing changed", async () => {
    const rows = await shopSubject(h.appDb.url, ids.preview);
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ email: rows.email }, { dryRun: true });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", dryRun: true, error: null });
    expect(byTable(view)).toEqual(shopSteps(rows, h.dataMap));
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);
    const events = (await h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [request.id])) as Array<{ event: string }>;
    expect(events.map((e) => e.event)).toEqual(["request.received", "erasure.previewed"]);
  });

  it("erasing an already erased subject is a no-op; one idempotency key makes one request", async () => {
    const id = String(ids.again);
    const first = await h.submit({ id });
    expect((await h.waitForStatus(first.request.id, ["completed", "failed"])).status).toBe("completed");
    const before = await rowChecksums(h.appDb.url);

    const again = await h.submit({ id });
    expect(again.request.id).not.toBe(first.request.id);
    const view = await h.waitForStatus(again.request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.steps).toEqual([]);
    const [row] = (await h.ds.query(`SELECT result, identities FROM lethe.subject_request WHERE id = $1`, [again.request.id])) as Array<{
      result: unknown;
      identities: Buffer | null;
    }>;
    expect(row!.result).toEqual({ steps: [], subjectFound: false, outcome: "subject_not_found", verified: false });
    expect(row!.identities).toBeNull();
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);

    const key = `again-${randomBytes(4).toString("hex")}`;
    const a = await h.submit({ id }, { idempotencyKey: key });
    const b = await h.submit({ id }, { idempotencyKey: key });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.request.id).toBe(a.request.id);
    const counted = (await h.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request WHERE idempotency_key = $1`, [key])) as Array<{ n: number }>;
    expect(counted[0]!.n).toBe(1);
    expect((await h.waitForStatus(a.request.id, ["completed", "failed"])).status).toBe("completed");
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);
  });

  it("fails a request whose id is not an integer at once, with a code and no echo of the value", async () => {
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ id: "abc" });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    expect(view.error).toEqual({ code: "store_failed", message: expect.stringContaining("22P02") });
    expect(view.error!.message).not.toContain("abc");
    const job = await waitFor(async () => {
      const j = await h.erasureQueue.getJob(requestJobId(request.id));
      return j && (await j.getState()) === "failed" ? j : undefined;
    }, "the job to fail");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).not.toContain("abc");
    const events = (await h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [request.id])) as Array<{ event: string }>;
    expect(events.map((e) => e.event)).toEqual(["request.received", "request.failed"]);
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);
  });
});

describe("erasure worker end to end: Chinook", () => {
  let h: LetheHarness;
  let spec: PostgresStoreSpec;

  beforeAll(async () => {
    h = await createHarness({
      map: CHINOOK_MAP,
      // Chinook's emails are distinct but not declared UNIQUE; an identity must be, so the test adds the index.
      prepare: async (url) => {
        await loadChinook(url);
        await runSql(url, `CREATE UNIQUE INDEX customer_email_key ON customer (email)`);
      },
      editMap: (raw) => {
        raw.subject.identities = { email: "email" };
      },
    });
    spec = h.dataMap.stores.main as PostgresStoreSpec;
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  const counts = async (id: number) => {
    const [r] = await query<{ invoices: number; lines: number }>(
      h.appDb.url,
      `SELECT (SELECT count(*)::int FROM invoice WHERE customer_id = $1) AS invoices,
              (SELECT count(*)::int FROM invoice_line l JOIN invoice i USING (invoice_id) WHERE i.customer_id = $1) AS lines`,
      [id],
    );
    return r!;
  };
  const groundOf = (table: string) => {
    const t = spec.tables[table]!;
    return t.action === "keep" ? (t.ground ?? "") : "";
  };
  const steps = (anonymized: number, c: { invoices: number; lines: number }) =>
    sortSteps([
      { store: "main", table: "customer", action: "anonymize", rows: anonymized },
      { store: "main", table: "invoice", action: "keep", rows: c.invoices, ground: groundOf("invoice") },
      { store: "main", table: "invoice_line", action: "keep", rows: c.lines, ground: groundOf("invoice_line") },
    ]);

  it("erases customer 7 by email: customer and invoices masked, no original personal value left, other rows untouched", async () => {
    const url = h.appDb.url;
    const [customer] = await query(url, `SELECT * FROM customer WHERE customer_id = 7`);
    const invoices = await query(url, `SELECT * FROM invoice WHERE customer_id = 7 ORDER BY invoice_id`);
    expect(invoices.length).toBeGreaterThan(0);
    const c = await counts(7);
    const subjectKeys = [`customer:7`, ...invoices.map((i) => `invoice:${String(i.invoice_id)}`)];

    // The customer's personal values (customer columns with a category, invoice columns that are masked),
    // except those the map retains on purpose (billing_country) and those other customers share.
    const personalOf = (table: string) => Object.entries(spec.tables[table]!.fields).filter(([, f]) => "category" in f);
    const retained = new Set(
      invoices.flatMap((i) =>
        personalOf("invoice")
          .filter(([, f]) => "retain" in f && f.retain)
          .map(([col]) => String(i[col])),
      ),
    );
    const candidates = new Set<string>();
    for (const [col] of personalOf("customer")) if (customer![col] !== null) candidates.add(String(customer![col]));
    for (const i of invoices) for (const [col, f] of personalOf("invoice")) if (!("retain" in f) && i[col] !== null) candidates.add(String(i[col]));
    const unique: string[] = [];
    for (const v of candidates) {
      if (retained.has(v)) continue;
      const holders = await rowsContaining(url, v);
      if (holders.every((k) => subjectKeys.includes(k))) unique.push(v);
    }
    expect(unique).toEqual(expect.arrayContaining([customer!.email, customer!.phone, customer!.address, customer!.last_name]));
    const before = await rowChecksums(url);

    const { request } = await h.submit({ email: String(customer!.email) });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(byTable(view)).toEqual(steps(1, c));

    // Hex-only values (e.g. postal code "1010") could occur inside a masked HMAC by chance: match them as whole JSON strings.
    for (const v of unique) expect({ value: v, rows: await rowsContaining(url, /^[0-9a-f]+$/.test(v) ? `"${v}"` : v) }).toEqual({ value: v, rows: [] });

    const [after] = await query(url, `SELECT * FROM customer WHERE customer_id = 7`);
    expect(after).toMatchObject({
      first_name: "[erased]",
      last_name: "[erased]",
      company: null,
      address: null,
      city: null,
      state: null,
      country: null,
      postal_code: null,
      phone: null,
      fax: null,
      support_rep_id: customer!.support_rep_id,
    });
    expect(after!.email).toMatch(/^[0-9a-f]{24}@erased\.invalid$/);
    const invoicesAfter = await query(url, `SELECT * FROM invoice WHERE customer_id = 7 ORDER BY invoice_id`);
    expect(invoicesAfter).toHaveLength(invoices.length);
    for (const [n, i] of invoicesAfter.entries()) {
      const was = invoices[n]!;
      expect(i).toEqual({ ...was, billing_address: null, billing_city: null, billing_state: null, billing_postal_code: null });
    }
    expect(diffChecksums(before, await rowChecksums(url))).toEqual({ removed: [], changed: sortKeys(subjectKeys), added: [] });
  });

  it("erasing the anonymized customer again changes nothing", async () => {
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ id: "7" });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(byTable(view)).toEqual(steps(0, await counts(7)));
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);
  });

  it("previews customer 12: counts, nothing changed", async () => {
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ id: "12" }, { dryRun: true });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", dryRun: true });
    expect(byTable(view)).toEqual(steps(1, await counts(12)));
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(NO_CHANGE);
  });
});
