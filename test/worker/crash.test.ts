import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import type { TsChild } from "../helpers/child-process";
import { SHOP_MAP } from "../helpers/data-maps";
import { queryRows } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, NO_CHANGE, rowChecksums, rowsContaining } from "../helpers/row-checksums";
import { shopErasureDiff, shopSteps, shopSubject, sortSteps } from "../helpers/shop";
import { waitFor } from "../helpers/wait";
import { backendGone, blockedBackend, killHard } from "../helpers/crash";

/**
 * Crash tests: the real worker process (`lethe worker`, 2 s job locks) is SIGKILLed at two
 * points of an erasure, then a fresh process finishes the request. Each point is reached
 * deterministically by blocking the worker on a lock the test holds and watching
 * pg_stat_activity, never by timing.
 */
jest.setTimeout(180_000);

const ORDERS = 3000;
const REVIEWS = 3000;
const TICKETS = 300;

/** Gives the customer thousands of rows, so the store transaction has real work to lose. */
async function makeHeavy(url: string, id: number, marker: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("BEGIN");
    await c.query(
      `INSERT INTO orders (customer_id, placed_at, total_cents, billing_name, billing_email, billing_address, billing_ip)
       SELECT id, now() - g * interval '1 hour', 100 + g, full_name, email, 'Street ' || $2, '192.0.2.1' FROM customers, generate_series(1, $3) g WHERE id = $1`,
      [id, marker, ORDERS],
    );
    await c.query(`INSERT INTO order_items (order_id, sku, quantity, price_cents) SELECT id, 'TEA-GREEN-100', 1, 690 FROM orders WHERE customer_id = $1`, [id]);
    await c.query(
      `INSERT INTO reviews (customer_id, product_sku, rating, body) SELECT $1, 'MUG-STONE', 1 + g % 5, 'Review ' || g || ' by ' || $2 FROM generate_series(1, $3) g`,
      [id, marker, REVIEWS],
    );
    await c.query(
      `INSERT INTO support_tickets (customer_email, subject, body) SELECT email, 'Ticket ' || g, 'Hello from ' || $2 FROM customers, generate_series(1, $3) g WHERE id = $1`,
      [id, marker, TICKETS],
    );
    await c.query("COMMIT");
  } finally {
    await c.end();
  }
}

/** Kills what a failed test left running, so it cannot take the next test's jobs. */
async function killLeftovers(children: TsChild[]): Promise<void> {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await c.exited;
  }
}

async function stopGracefully(child: TsChild): Promise<void> {
  child.proc.kill("SIGTERM");
  expect((await child.exited).code).toBe(0);
}

describe("a worker killed mid-erasure", () => {
  let h: LetheHarness;
  const tag = randomBytes(4).toString("hex");
  const markers = { inStore: `crash-store-${tag}`, afterCommit: `crash-commit-${tag}` };
  const ids = { inStore: 0, afterCommit: 0 };
  let children: TsChild[] = [];
  const spawnWorker = (logLevel = "warn"): TsChild => {
    const child = h.spawn("workers/cli.ts", ["worker", "--queues", "erasure,maintenance"], { LETHE_LOCK_DURATION_MS: "2000", LOG_LEVEL: logLevel });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      prepare: async (url) => {
        await seedShop(url, { customers: 100 });
        for (const k of ["inStore", "afterCommit"] as const) {
          ids[k] = await seedMarkedCustomer(url, markers[k]);
          await makeHeavy(url, ids[k], markers[k]);
        }
      },
    });
  });

  afterEach(async () => {
    await killLeftovers(children);
    children = [];
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("inside the store transaction: nothing is half-done, and a fresh worker erases everything once", async () => {
    const url = h.appDb.url;
    const subject = await shopSubject(url, ids.inStore);
    expect(subject.orders.length).toBe(ORDERS + 2);
    expect(subject.reviews.length).toBe(REVIEWS + 2);
    const before = await rowChecksums(url);

    // SHARE mode lets the worker read and row-lock, and update/delete the other tables, but its
    // DELETE FROM customers (the last but one table of the change order), inside the compiled
    // erasure function, waits.
    const locker = new Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE customers IN SHARE MODE");
      const w1 = spawnWorker();
      const { request } = await h.submit({ id: String(subject.id) });
      const pid = await blockedBackend(h, h.appDb.name, "%pg_temp.lethe_erase_%", w1);
      const written = (
        await locker.query<{ relname: string }>(
          `SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = $1 AND l.mode = 'RowExclusiveLock' AND l.granted ORDER BY 1`,
          [pid],
        )
      ).rows;
      // The transaction has already deleted reviews and tickets and masked orders.
      expect(written.map((r) => r.relname)).toEqual(expect.arrayContaining(["orders", "reviews", "support_tickets"]));

      await killHard(w1);
      await locker.query("ROLLBACK");
      await backendGone(h, pid);
      expect(diffChecksums(before, await rowChecksums(url))).toEqual(NO_CHANGE);
      const stores = (await h.ds.query(`SELECT status FROM lethe.request_store WHERE request_id = $1`, [request.id])) as Array<{ status: string }>;
      expect(stores.filter((s) => s.status === "done")).toEqual([]);
      // Nothing of the attempt was recorded: the request is marked running only with the store's
      // prepared record, in the statement just before COMMIT.
      expect((await h.waitForStatus(request.id, ["queued"], 1000)).status).toBe("queued");

      const w2 = spawnWorker();
      const view = await h.waitForStatus(request.id, ["completed", "failed"], 90_000);
      expect(view.status).toBe("completed");
      expect(sortSteps(view.steps)).toEqual(shopSteps(subject, h.dataMap));
      expect(diffChecksums(before, await rowChecksums(url))).toEqual(shopErasureDiff(subject));
      expect(await rowsContaining(url, markers.inStore)).toEqual([]);
      await expectOneCompletion(h, request.id);
      await stopGracefully(w2);
    } finally {
      await killLeftovers(children);
      await locker.end();
    }
  });

  it("after the store committed but before the request was marked done: the fresh worker recognises the commit (txid_status)", async () => {
    const url = h.appDb.url;
    const subject = await shopSubject(url, ids.afterCommit);
    const before = await rowChecksums(url);
    const key = Math.floor(Math.random() * 1_000_000_000);

    // Test-only trigger in the scratch Lethe database: the worker's "store done" update waits on an advisory lock the test holds.
    await h.ds.query(
      `CREATE FUNCTION public.crash_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${key}); RETURN NEW; END $$`,
    );
    await h.ds.query(
      `CREATE TRIGGER crash_test_hold BEFORE UPDATE ON lethe.request_store FOR EACH ROW WHEN (OLD.status = 'prepared' AND NEW.status = 'done') EXECUTE FUNCTION public.crash_test_hold()`,
    );
    const holder = new Client({ connectionString: h.letheDb.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock($1)`, [key]);
      const w1 = spawnWorker();
      const { request } = await h.submit({ id: String(subject.id) });
      const pid = await blockedBackend(h, h.letheDb.name, "%UPDATE lethe.request_store%", w1);

      // The store transaction has committed; Lethe still says "prepared" with its xid.
      expect(diffChecksums(before, await rowChecksums(url))).toEqual(shopErasureDiff(subject));
      const [prepared] = (await h.ds.query(`SELECT status, xid::text AS xid FROM lethe.request_store WHERE request_id = $1`, [request.id])) as Array<{
        status: string;
        xid: string;
      }>;
      expect(prepared).toEqual({ status: "prepared", xid: expect.stringMatching(/^\d+$/) });
      const recorded = (await h.ds.query(`SELECT table_name AS table, action, rows FROM lethe.request_step WHERE request_id = $1 ORDER BY id`, [
        request.id,
      ])) as Array<{
        table: string;
        action: string;
        rows: number;
      }>;

      await killHard(w1);
      // A real crash before the update is sent: the orphaned backend must not finish the statement for the dead process.
      await h.ds.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await backendGone(h, pid);
      await holder.query(`SELECT pg_advisory_unlock($1)`, [key]);
      const [still] = (await h.ds.query(`SELECT status FROM lethe.request_store WHERE request_id = $1`, [request.id])) as Array<{ status: string }>;
      expect(still!.status).toBe("prepared");
      const afterCommit = await rowChecksums(url);

      const w2 = spawnWorker("info");
      const view = await h.waitForStatus(request.id, ["completed", "failed"], 90_000);
      expect(view.status).toBe("completed");
      expect(sortSteps(view.steps)).toEqual(shopSteps(subject, h.dataMap));
      expect(sortSteps(view.steps).map(({ table, action, rows }) => ({ table, action, rows }))).toEqual(
        sortSteps(recorded.map((r) => ({ ...r, store: "shop" }))).map(({ table, action, rows }) => ({ table, action, rows })),
      );
      // The fresh worker did not erase again: it read the outcome of the recorded transaction.
      await waitFor(async () => (w2.stdout().includes("previous attempt committed; recording it") ? true : undefined), "the worker's log line", 5000).catch(
        (err: unknown) => {
          throw new Error(`${String(err)}\n${w2.stdout()}\n${w2.stderr()}`);
        },
      );
      expect(diffChecksums(afterCommit, await rowChecksums(url))).toEqual(NO_CHANGE);
      expect(diffChecksums(before, await rowChecksums(url))).toEqual(shopErasureDiff(subject));
      const [done] = (await h.ds.query(`SELECT status FROM lethe.request_store WHERE request_id = $1`, [request.id])) as Array<{ status: string }>;
      expect(done!.status).toBe("done");
      await expectOneCompletion(h, request.id);
      await stopGracefully(w2);
    } finally {
      await killLeftovers(children);
      await holder.end();
      await h.ds.query(`DROP TRIGGER IF EXISTS crash_test_hold ON lethe.request_store`);
      await h.ds.query(`DROP FUNCTION IF EXISTS public.crash_test_hold()`);
    }
  });
});

/** Exactly one `erasure.completed` audit row, identities wiped, and the shop's row counts match the receipt. */
async function expectOneCompletion(h: LetheHarness, requestId: string): Promise<void> {
  const events = (await h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [requestId])) as Array<{ event: string }>;
  expect(events.filter((e) => e.event === "erasure.completed")).toHaveLength(1);
  const [row] = (await h.ds.query(`SELECT identities FROM lethe.subject_request WHERE id = $1`, [requestId])) as Array<{ identities: Buffer | null }>;
  expect(row!.identities).toBeNull();
  const left = await queryRows<{ n: number }>(
    h.appDb.url,
    `SELECT count(*)::int AS n FROM orders WHERE billing_email NOT LIKE '%@erased.invalid' AND customer_id IS NULL`,
  );
  expect(left[0]!.n).toBe(0);
}
