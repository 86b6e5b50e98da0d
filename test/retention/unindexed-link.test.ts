import type { Queue } from "bullmq";
import { loadTraps } from "../fixtures/traps/seed";
import { TRAPS_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { query, retentionQueue, sweep, withPolicies } from "./helpers";

/**
 * Issue 9, item 10: every batch transaction of a sweep stays under a second even where a linked
 * table of 1M rows has no index on its link column (trap `page_views."customerId"`): batches are
 * joined to the batch's prepared id set (one hashed scan per batch) and sized by a cost model of
 * the batches before. The run reports its longest batch.
 */
describe("a deleting sweep over a 1M-row linked table without an index on the link column", () => {
  let h: LetheHarness;
  let queue: Queue;

  beforeAll(async () => {
    h = await createHarness({
      map: TRAPS_MAP,
      prepare: (url) => loadTraps(url, { customers: 2000, pageViews: 1_000_000 }),
      editMap: withPolicies({
        name: "purge",
        store: "shop",
        table: "customers",
        // Trap customers' created_at runs into the future: an absolute cutoff takes them all.
        age: { column: "created_at", before: "2100-01-01T00:00:00Z" },
        where: [{ column: "id", op: ">", value: 1000 }],
        action: "delete",
        batchSize: 10_000,
      }),
    });
    queue = retentionQueue(h);
    await h.startWorker({ queues: ["retention"] });
  }, 300_000);

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
  });

  it("deletes every linked page view, each batch under a second, and reports the longest batch", async () => {
    const [views] = await query<{ n: string }>(h.appDb.url, `SELECT count(*) AS n FROM page_views WHERE "customerId" > 1000`);
    expect(Number(views!.n)).toBe(500_000);
    const run = await sweep(h, queue, "purge");
    expect(run.rows).toEqual({ matched: 1000, changed: 1000, held: 0 });
    expect(run.cascaded.page_views).toBe(500_000);
    const [left] = await query<{ n: string }>(h.appDb.url, `SELECT count(*) AS n FROM page_views WHERE "customerId" > 1000`);
    expect(left!.n).toBe("0");
    expect(run.batches).toBeGreaterThan(1);
    expect(run.maxBatchMs).toBeGreaterThan(0);
    expect(run.maxBatchMs).toBeLessThan(1000);
  }, 300_000);
});
