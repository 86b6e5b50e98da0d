import { randomBytes } from "node:crypto";
import { Client } from "pg";
import type { TsChild } from "../helpers/child-process";
import { backendGone, blockedBackend, killHard } from "../helpers/crash";
import { queryRows, runSql } from "../helpers/db";
import type { Answer } from "../helpers/fake-processor";
import { waitFor } from "../helpers/wait";
import { createRightsWorld, type RightsWorld } from "./fixture";
import type { Subject } from "../multi-store/fixture";

/**
 * Crash safety of a rectification: the real worker process (`workers/worker.ts`, 2 s job locks)
 * is SIGKILLed inside the shop's transaction, after the shop committed but before Lethe recorded
 * it, and while a processor holds its event; a fresh process finishes. Each point is reached by
 * blocking on something the test holds, never by timing. A trigger in the shop counts every
 * UPDATE of every row: each row of the subject is changed exactly once, each processor gets one
 * event (one idempotency key, the same body on a resend).
 */
jest.setTimeout(180_000);

const LOCK_MS = "2000";

describe("a worker process killed during a rectification", () => {
  let w: RightsWorld;
  let worker: TsChild | undefined;
  const spawn = async (): Promise<TsChild> => (worker = await w.spawnWorker({ LETHE_LOCK_DURATION_MS: LOCK_MS, LETHE_WORKER_CONCURRENCY: "4" }));

  beforeAll(async () => {
    w = await createRightsWorld();
    // Outside the mapped schema: every UPDATE of a shop row is counted, committed with it or not at all.
    await runSql(
      w.h.appDb.url,
      `CREATE SCHEMA testlog;
       CREATE TABLE testlog.changes (tbl text NOT NULL, row_id int NOT NULL, n int NOT NULL, PRIMARY KEY (tbl, row_id));
       CREATE FUNCTION testlog.count_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO testlog.changes VALUES (TG_TABLE_NAME, NEW.id, 1) ON CONFLICT (tbl, row_id) DO UPDATE SET n = testlog.changes.n + 1;
         RETURN NEW;
       END $$;
       CREATE TRIGGER count_change AFTER UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION testlog.count_change();
       CREATE TRIGGER count_change AFTER UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION testlog.count_change();
       CREATE TRIGGER count_change AFTER UPDATE ON public.support_tickets FOR EACH ROW EXECUTE FUNCTION testlog.count_change();`,
    );
  });

  afterAll(async () => {
    if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await w?.cleanup();
  });

  const changes = async (s: Subject): Promise<Array<{ tbl: string; n: number }>> =>
    queryRows<{ tbl: string; n: number }>(
      w.h.appDb.url,
      `SELECT c.tbl, c.n FROM testlog.changes c
        WHERE (c.tbl = 'customers' AND c.row_id = $1)
           OR (c.tbl = 'orders' AND c.row_id IN (SELECT id FROM orders WHERE customer_id = $1))
           OR (c.tbl = 'support_tickets' AND c.row_id IN (SELECT t.id FROM support_tickets t JOIN customers cu ON cu.email = t.customer_email WHERE cu.id = $1))
        ORDER BY c.tbl, c.row_id`,
      [s.id],
    );
  const ONCE = [
    { tbl: "customers", n: 1 },
    { tbl: "orders", n: 1 },
    { tbl: "orders", n: 1 },
    { tbl: "support_tickets", n: 1 },
  ];

  async function rectify(s: Subject): Promise<{ id: string; email: string }> {
    const email = `crash-${randomBytes(4).toString("hex")}@example.org`;
    const res = await w.http<{ id: string }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { id: String(s.id) },
      changes: [{ field: "email", value: email }],
    });
    expect(res.status).toBe(202);
    return { id: res.json.id, email };
  }

  async function expectDoneOnce(s: Subject, id: string, email: string): Promise<void> {
    const view = await w.h.waitForStatus(id, ["completed", "failed"], 90_000);
    expect(view.status).toBe("completed");
    expect(await changes(s)).toEqual(ONCE);
    expect(await queryRows(w.h.appDb.url, `SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND billing_email = $2`, [s.id, email])).toEqual([
      { n: 2 },
    ]);
    for (const p of [w.crm, w.mailer]) {
      const calls = p.calls.filter((c) => c.body?.requestId === id);
      expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([`rectify-${id}-${p.name}`]));
      expect(new Set(calls.map((c) => c.rawBody)).size).toBe(1);
    }
    const events = (await w.h.ds.query(`SELECT recipient, status FROM lethe.recipient_event WHERE request_id = $1 AND channel = 'webhook' ORDER BY recipient`, [
      id,
    ])) as unknown[];
    expect(events).toEqual([
      { recipient: "crm", status: "executed" },
      { recipient: "mailer", status: "executed" },
    ]);
  }

  it("inside the shop's transaction: nothing changed; the fresh worker changes every row once", async () => {
    const s = await w.addRightsSubject("crash-tx");
    const locker = new Client({ connectionString: w.h.appDb.url });
    await locker.connect();
    try {
      // Submitted first (the API tries the value on the same rows), then the rows locked, then the worker started.
      const { id, email } = await rectify(s);
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM orders WHERE customer_id = $1 FOR UPDATE", [s.id]);
      const w1 = await spawn();
      const pid = await blockedBackend(w.h, w.h.appDb.name, "UPDATE %orders%", w1);
      await killHard(w1);
      await locker.query("ROLLBACK");
      await backendGone(w.h, pid);
      expect(await changes(s)).toEqual([]);
      expect(await w.h.ds.query(`SELECT store, status FROM lethe.rights_store WHERE request_id = $1`, [id])).toEqual([]);

      await spawn();
      await expectDoneOnce(s, id, email);
    } finally {
      await locker.end();
    }
  });

  it("after the shop committed, before Lethe recorded it: the fresh worker finds the commit by its xid and changes nothing again", async () => {
    const s = await w.addRightsSubject("crash-commit");
    const key = Math.floor(Math.random() * 1_000_000_000);
    // Test-only trigger in the scratch Lethe database: recording a store done waits on an advisory lock the test holds.
    await w.h.ds.query(
      `CREATE FUNCTION public.hold_rights_done() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${key}); RETURN NEW; END $$`,
    );
    await w.h.ds.query(
      `CREATE TRIGGER hold_rights_done BEFORE UPDATE ON lethe.rights_store FOR EACH ROW WHEN (NEW.status = 'done' AND OLD.status = 'prepared') EXECUTE FUNCTION public.hold_rights_done()`,
    );
    const holder = new Client({ connectionString: w.h.letheDb.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock($1)`, [key]);
      const w1 = worker!;
      const { id, email } = await rectify(s);
      const pid = await blockedBackend(w.h, w.h.letheDb.name, "UPDATE lethe.rights_store SET status = 'done'%", w1);
      // The shop's transaction committed; Lethe has it as prepared, with its xid.
      expect(await changes(s)).toEqual(ONCE);
      expect(await w.h.ds.query(`SELECT store, status, xid IS NOT NULL AS has_xid FROM lethe.rights_store WHERE request_id = $1`, [id])).toEqual([
        { store: "shop", status: "prepared", has_xid: true },
      ]);

      await killHard(w1);
      await w.h.ds.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await backendGone(w.h, pid);
      await holder.query(`SELECT pg_advisory_unlock($1)`, [key]);
      await w.h.ds.query(`DROP TRIGGER hold_rights_done ON lethe.rights_store`);

      await spawn();
      await expectDoneOnce(s, id, email);
    } finally {
      await holder.end();
    }
  });

  it("while a processor holds its event: the fresh worker sends it again with the same key; one event per recipient", async () => {
    const s = await w.addRightsSubject("crash-event");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.crm.answer = async (): Promise<Answer> => {
      await gate;
      return { status: 200 };
    };
    try {
      const w1 = worker!;
      const { id, email } = await rectify(s);
      await waitFor(
        async () => {
          const mailer = (await w.h.ds.query(`SELECT status FROM lethe.recipient_event WHERE request_id = $1 AND recipient = 'mailer'`, [id])) as Array<{
            status: string;
          }>;
          return w.crm.calls.some((c) => c.body?.requestId === id) && mailer[0]?.status === "executed" ? true : undefined;
        },
        "the crm event in flight (the mailer's done)",
        60_000,
        50,
      );
      await killHard(w1);
      release();
      await spawn();
      await expectDoneOnce(s, id, email);
      expect(w.crm.calls.filter((c) => c.body?.requestId === id)).toHaveLength(2);
      expect(w.mailer.calls.filter((c) => c.body?.requestId === id)).toHaveLength(1);
      const stdout = worker!.stdout();
      for (const m of [s.marker, s.email, email]) expect(stdout).not.toContain(m);
    } finally {
      w.crm.answer = () => ({ status: 200 });
    }
  });
});
