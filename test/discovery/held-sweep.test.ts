import type { Queue } from "bullmq";
import { subjectHash } from "../../src/subject/hashes";
import { TRAPS, loadTraps } from "../fixtures/traps/seed";
import { TRAPS_MAP } from "../helpers/data-maps";
import { queryRows } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { retentionQueue, sweep, withPolicies } from "../retention/helpers";

/**
 * Issue 9, item 3 (holds): a sweep finds a held subject's rows through a `via` link by the link's
 * match rule, so tickets that name the held customer by a mixed-case, padded email are skipped too.
 */
describe("legal holds in a sweep, through a normalised email link", () => {
  let h: LetheHarness;
  let queue: Queue;

  beforeAll(async () => {
    h = await createHarness({
      map: TRAPS_MAP,
      prepare: (url) => loadTraps(url),
      editMap: withPolicies({
        name: "old-tickets",
        store: "shop",
        table: "support_tickets",
        age: { column: "opened_at", olderThan: "P30D" },
        action: "delete",
      }),
    });
    queue = retentionQueue(h);
    await h.startWorker({ queues: ["retention"] });
    await h.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, created_by) VALUES ($1, 'pending litigation', 'test')`, [
      subjectHash(h.config.hmacKey, "id", String(TRAPS.mark.id)),
    ]);
  });

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
  });

  it("skips the held customer's tickets stored as '  ZQXMARK8@Example.com' and 'zqxmark8@example.com ', deletes everyone else's", async () => {
    const run = await sweep(h, queue, "old-tickets");
    expect(run.rows.held).toBe(2);
    const left = await queryRows<{ customer_email: string }>(h.appDb.url, `SELECT customer_email FROM support_tickets ORDER BY id`);
    expect(left.map((r) => r.customer_email.trim().toLowerCase())).toEqual([TRAPS.mark.email, TRAPS.mark.email]);
  });
});
