import type { Queue } from "bullmq";
import { seedShop } from "../../demo/seed";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { query, retentionQueue, sweep } from "./helpers";
import { subjectHash } from "../../src/subject/hashes";

/**
 * Legal holds on the demo shop with the demo's own policies: a held customer is not anonymized,
 * and their old support tickets (linked to them only by email, a `via` link) are not deleted;
 * an expired hold holds nothing; releasing the hold lets the next runs take the rows.
 */
describe("retention sweep: legal holds (demo shop, demo policies)", () => {
  let h: LetheHarness;
  let queue: Queue;
  let held: number[] = [];
  let expired = 0;
  let heldTickets = 0;

  const customer = async (id: number) =>
    (await query<{ email: string; last_login_at: Date | null }>(h.appDb.url, `SELECT email, last_login_at FROM customers WHERE id = $1`, [id]))[0]!;

  beforeAll(async () => {
    h = await createHarness({ map: SHOP_MAP, prepare: (url) => seedShop(url, { customers: 1500 }).then(() => undefined) });
    queue = retentionQueue(h);
    await h.startWorker({ queues: ["retention"] });
    // Dormant customers who also have support tickets older than two years.
    const candidates = await query<{ id: number; old_tickets: number }>(
      h.appDb.url,
      `SELECT c.id, count(t.id)::int AS old_tickets FROM customers c JOIN support_tickets t ON t.customer_email = c.email
        WHERE c.last_login_at < now() - interval '3 years' AND t.opened_at < now() - interval '2 years'
        GROUP BY c.id ORDER BY c.id LIMIT 3`,
    );
    if (candidates.length < 3) throw new Error("the seeded shop has too few dormant customers with old tickets");
    held = [candidates[0]!.id, candidates[1]!.id];
    expired = candidates[2]!.id;
    heldTickets = candidates[0]!.old_tickets + candidates[1]!.old_tickets;
    const hash = (id: number) => subjectHash(h.config.hmacKey, "id", String(id));
    for (const id of held)
      await h.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, created_by) VALUES ($1, 'pending litigation', 'test')`, [hash(id)]);
    await h.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, until, created_by) VALUES ($1, 'ended', now() - interval '1 day', 'test')`, [
      hash(expired),
    ]);
  });

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
  });

  it("skips held subjects' rows and counts them as held", async () => {
    const heldEmails = await Promise.all(held.map(async (id) => (await customer(id)).email));
    const tickets = await sweep(h, queue, "old-support-tickets");
    expect(tickets.rows.held).toBe(heldTickets);
    expect(tickets.rows.changed).toBe(tickets.rows.matched - heldTickets);
    const [left] = await query<{ n: number }>(h.appDb.url, `SELECT count(*)::int AS n FROM support_tickets WHERE opened_at < $1`, [tickets.cutoff]);
    expect(left!.n).toBe(heldTickets);
    const [theirs] = await query<{ n: number }>(
      h.appDb.url,
      `SELECT count(*)::int AS n FROM support_tickets WHERE opened_at < $1 AND customer_email = ANY($2)`,
      [tickets.cutoff, heldEmails],
    );
    expect(theirs!.n).toBe(heldTickets);

    const dormant = await sweep(h, queue, "dormant-customers");
    expect(dormant.rows.held).toBe(2);
    expect(dormant.rows.changed).toBe(dormant.rows.matched - 2);
    for (const id of held) expect((await customer(id)).email).not.toMatch(/@erased\.invalid$/);
    expect((await customer(expired)).email).toMatch(/@erased\.invalid$/);
  });

  it("after the hold is released, the next runs take the rows", async () => {
    await h.ds.query(`UPDATE lethe.legal_hold SET released_at = now() WHERE released_at IS NULL`);
    const tickets = await sweep(h, queue, "old-support-tickets");
    expect(tickets.rows).toEqual({ matched: heldTickets, changed: heldTickets, held: 0 });
    const dormant = await sweep(h, queue, "dormant-customers");
    expect(dormant.rows).toEqual({ matched: 2, changed: 2, held: 0 });
    for (const id of held) expect(await customer(id)).toEqual({ email: expect.stringMatching(/@erased\.invalid$/), last_login_at: null });
  });
});
