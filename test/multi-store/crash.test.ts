import { Client } from "pg";
import { verifyReceipt, type SignedReceipt } from "../../src/receipts/receipt";
import type { TsChild } from "../helpers/child-process";
import { diffChecksums, NO_CHANGE, rowChecksums, sortKeys } from "../helpers/row-checksums";
import { shopSubject } from "../helpers/shop";
import { waitFor } from "../helpers/wait";
import { backendGone, blockedBackend, killHard } from "../helpers/crash";
import { createMultiStore, expectedSteps, sortAllSteps, stepRows, storeRows, withoutSubjects, type MultiStore, type Subject } from "./fixture";
import type { Answer } from "../helpers/fake-processor";

/**
 * Issue #3, crash safety: the real worker process (`workers/worker.ts`, 2 s job locks) is
 * SIGKILLed in the middle of a five-store erasure — while the shop's transaction is blocked on a
 * lock the test holds, while a processor is slow to answer, and after every store finished but
 * before the parent completed the request — and a fresh process finishes it. Each point is
 * reached by blocking on something the test holds, never by timing. Afterwards no store was
 * erased twice in a way that changed its counts, and the receipt is right.
 */
jest.setTimeout(120_000);

const LOCK_MS = "2000";
const STORES = ["cache", "crm", "mailer", "shop", "uploads"];

describe("a worker process killed mid multi-store erasure", () => {
  let w: MultiStore;
  let worker: TsChild | undefined;
  const spawn = async (): Promise<TsChild> => (worker = await w.spawnWorker({ LETHE_LOCK_DURATION_MS: LOCK_MS, LETHE_WORKER_CONCURRENCY: "4" }));

  beforeAll(async () => {
    w = await createMultiStore();
  });

  afterAll(async () => {
    if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) {
      worker.proc.kill("SIGTERM");
      await worker.exited;
    }
    await w?.cleanup();
  });

  const storesDone = async (id: string, stores: string[]): Promise<boolean> => {
    const s = await storeRows(w.h, id);
    return stores.every((n) => s[n] === "done");
  };

  async function submit(s: Subject): Promise<string> {
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { id: String(s.id) } });
    expect(res.status).toBe(202);
    return res.json.id;
  }

  /** Completed once, every store's counts as a first erasure reports them, processors erased once, receipt verifies. */
  async function expectFinishedOnce(id: string, s: Subject, steps: ReturnType<typeof expectedSteps>): Promise<void> {
    const view = await w.h.waitForStatus(id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    expect(sortAllSteps(view.steps)).toEqual(steps);
    const events = (await w.h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 AND event = 'erasure.completed'`, [id])) as unknown[];
    expect(events).toHaveLength(1);
    for (const p of [w.crm, w.mailer]) {
      expect(p.erasuresFor(id)).toEqual([`erase-${id}-${p.name}`]);
      expect(p.records.has(s.email)).toBe(false);
    }
    const signed = (await w.http<SignedReceipt>("GET", `/v1/requests/${id}/receipt`)).json;
    const key = (await w.http<{ publicKeyPem: string }>("GET", "/v1/receipts/public-key")).json;
    expect(verifyReceipt(signed, key.publicKeyPem)).toBe(true);
    expect(sortAllSteps(signed.receipt.stores.flatMap((st) => st.steps.map((x) => ({ store: st.store, ...x }))))).toEqual(steps);
    const [row] = (await w.h.ds.query(`SELECT identities FROM lethe.subject_request WHERE id = $1`, [id])) as Array<{ identities: Buffer | null }>;
    expect(row!.identities).toBeNull();
  }

  it("inside the shop's transaction, before any other store started: nothing changed anywhere, the fresh worker erases every store once", async () => {
    const a = await w.addSubject("crash-pg");
    const url = w.h.appDb.url;
    const rowsA = await shopSubject(url, a.id);
    const rowsBefore = await rowChecksums(url);
    const before = await w.state();
    const locker = new Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      // SHARE lets the worker read and change the other tables; its DELETE FROM customers (inside the compiled function) waits.
      await locker.query("LOCK TABLE customers IN SHARE MODE");
      const w1 = await spawn();
      const id = await submit(a);
      const pid = await blockedBackend(w.h, w.h.appDb.name, "%pg_temp.lethe_erase_%", w1);
      // The subject's store is erased by the entry job, before the flow of the other stores exists.
      expect(await stepRows(w.h, id)).toEqual([]);

      await killHard(w1);
      await locker.query("ROLLBACK");
      await backendGone(w.h, pid);
      // Nothing changed: the shop's transaction died with the worker, and no other store was started.
      expect(diffChecksums(rowsBefore, await rowChecksums(url))).toEqual(NO_CHANGE);
      expect((await storeRows(w.h, id)).shop).not.toBe("done");
      expect(await w.state()).toEqual(before);
      expect(w.crm.callsFor(id)).toHaveLength(0);

      await spawn();
      await expectFinishedOnce(id, a, expectedSteps(rowsA, w.prefix));
      expect(w.crm.callsFor(id)).toHaveLength(1);
      expect(w.mailer.callsFor(id)).toHaveLength(1);
      expect(diffChecksums(rowsBefore, await rowChecksums(url))).toEqual({
        removed: sortKeys([`customers:${a.id}`, `addresses:${rowsA.addressId}`, ...rowsA.reviews.map((r) => `reviews:${r}`)]),
        changed: sortKeys([...rowsA.orders.map((o) => `orders:${o}`), ...rowsA.tickets.map((t) => `support_tickets:${t}`)]),
        added: [],
      });
      expect(await w.state()).toEqual(withoutSubjects(before, [a]));
    } finally {
      await locker.end();
    }
  });

  it("while a processor is slow to answer: the fresh worker calls again with the same Idempotency-Key and the processor erases once", async () => {
    const b = await w.addSubject("crash-slow");
    const rowsB = await shopSubject(w.h.appDb.url, b.id);
    const before = await w.state();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.crm.answer = async (): Promise<Answer> => {
      await gate;
      return { status: 200 };
    };
    const w1 = worker!;
    const id = await submit(b);
    // The crm call is in flight in the entry job (the processor holds it), the stores that never
    // wait have finished and the mailer was asked too (it accepted for later, 202).
    await waitFor(
      async () =>
        w.crm.callsFor(id).length === 1 && w.mailer.callsFor(id).length === 1 && (await storesDone(id, ["shop", "cache", "uploads"])) ? true : undefined,
      "the crm call in flight",
      30_000,
      50,
    );
    const notProcessors = (rows: Awaited<ReturnType<typeof stepRows>>) => rows.filter((s) => s.store !== "crm" && s.store !== "mailer");
    const othersSteps = notProcessors(await stepRows(w.h, id));

    await killHard(w1);
    // The processor finishes the erasure it was asked for; its answer goes nowhere.
    release();
    await waitFor(async () => (w.crm.erasuresFor(id).length === 1 ? true : undefined), "the processor to finish", 5000, 20);
    expect((await storeRows(w.h, id)).crm).toBeUndefined();

    await spawn();
    await expectFinishedOnce(id, b, expectedSteps(rowsB, w.prefix));
    const calls = w.crm.callsFor(id);
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([`erase-${id}-crm`, `erase-${id}-crm`]);
    expect(calls[0]!.rawBody).toBe(calls[1]!.rawBody);
    expect(calls.every((c) => c.signatureValid)).toBe(true);
    expect(notProcessors(await stepRows(w.h, id))).toEqual(othersSteps);
    expect(w.mailer.callsFor(id)).toHaveLength(1);
    expect(await w.state()).toEqual(withoutSubjects(before, [b]));
    w.crm.answer = () => ({ status: 200 });
  });

  it("after every store finished but before the parent completed the request: the fresh worker verifies and completes it once", async () => {
    const c = await w.addSubject("crash-parent");
    const rowsC = await shopSubject(w.h.appDb.url, c.id);
    const before = await w.state();
    const rowsBefore = await rowChecksums(w.h.appDb.url);
    const key = Math.floor(Math.random() * 1_000_000_000);
    // Test-only trigger in the scratch Lethe database: completing a request waits on an advisory lock the test holds.
    await w.h.ds.query(
      `CREATE FUNCTION public.crash_hold_parent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${key}); RETURN NEW; END $$`,
    );
    await w.h.ds.query(
      `CREATE TRIGGER crash_hold_parent BEFORE UPDATE ON lethe.subject_request FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status <> 'completed') EXECUTE FUNCTION public.crash_hold_parent()`,
    );
    const holder = new Client({ connectionString: w.h.letheDb.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock($1)`, [key]);
      const w1 = worker!;
      const id = await submit(c);
      const pid = await blockedBackend(w.h, w.h.letheDb.name, "%UPDATE lethe.subject_request SET status = 'completed'%", w1);
      expect(await storesDone(id, STORES)).toBe(true);
      const steps = await stepRows(w.h, id);
      const afterStores = await w.state();
      expect(afterStores).toEqual(withoutSubjects(before, [c]));
      const shopAfter = await rowChecksums(w.h.appDb.url);
      expect(diffChecksums(rowsBefore, shopAfter)).not.toEqual(NO_CHANGE);

      await killHard(w1);
      // A real crash before the statement is sent: the orphaned backend must not finish it for the dead process.
      await w.h.ds.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await backendGone(w.h, pid);
      await holder.query(`SELECT pg_advisory_unlock($1)`, [key]);
      expect((await w.h.waitForStatus(id, ["running"], 1000)).status).toBe("running");
      await w.h.ds.query(`DROP TRIGGER crash_hold_parent ON lethe.subject_request`);

      await spawn();
      await expectFinishedOnce(id, c, expectedSteps(rowsC, w.prefix));
      // Nothing was erased again: same step rows, every store as the first worker left it.
      expect(await stepRows(w.h, id)).toEqual(steps);
      expect(diffChecksums(shopAfter, await rowChecksums(w.h.appDb.url))).toEqual(NO_CHANGE);
      expect(await w.state()).toEqual(afterStores);
      expect(w.crm.callsFor(id)).toHaveLength(1);
      expect(w.mailer.callsFor(id)).toHaveLength(1);

      worker!.proc.kill("SIGTERM");
      expect((await worker!.exited).code).toBe(0);
    } finally {
      await holder.end();
      await w.h.ds.query(`DROP TRIGGER IF EXISTS crash_hold_parent ON lethe.subject_request`);
      await w.h.ds.query(`DROP FUNCTION IF EXISTS public.crash_hold_parent()`);
    }
  });
});
