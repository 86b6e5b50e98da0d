import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { DataSource } from "typeorm";
import { endCall, openCall } from "../../src/db/tables/processor-call";
import { recordStore, recordStoresDone } from "../../src/db/tables/request-store";
import { completeRequest, insertRequest, loadRequest, startErasurePrepared } from "../../src/db/tables/subject-request";
import { migratedLetheDb, queryRows, runSql, type ScratchDb } from "../helpers/db";

/**
 * The request path's statements run on sessions that plan each of them once (`queryRows`, generic
 * plans). A plan made while Lethe's tables were small must not read the whole table once they are
 * large: the store record once scanned every row of `request_step` on every call. Here the plans
 * are made on nearly empty tables, the tables then grow by 60,000 requests (with their stores and
 * steps) in other sessions, and the same statements run again on the same sessions: the rows they
 * read, from Postgres's own counters (flushed when the sessions end), stay in the tens.
 */
describe("generic plans of the request path stay keyed as the tables grow", () => {
  let db: ScratchDb;
  let ds: DataSource;
  const TABLES = ["subject_request", "request_store", "request_step", "processor_call", "restriction", "legal_hold"];

  beforeAll(async () => {
    ({ db, ds } = await migratedLetheDb());
    // No autovacuum: an ANALYZE would make the sessions plan again, on large tables (not the case tested).
    for (const t of TABLES) await ds.query(`ALTER TABLE lethe.${t} SET (autovacuum_enabled = false)`);
  });

  afterAll(async () => {
    if (ds.isInitialized) await ds.destroy();
    await db.drop();
  });

  /** One erasure's statements, as the worker runs them, for `n` requests at once (batches of several). */
  const erasures = async (n: number): Promise<void> => {
    const now = new Date();
    const due = new Date(now.getTime() + 30 * 86_400_000);
    const ids = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await insertRequest(
          ds,
          {
            type: "erasure",
            dryRun: false,
            receivedAt: now,
            dueAt: due,
            subjectHash: `hash-${randomUUID()}`,
            identities: Buffer.from("sealed"),
            requestedBy: "test",
            idempotencyKey: null,
          },
          { n: i },
        );
        return r!.id;
      }),
    );
    await Promise.all(
      ids.map(async (requestId, i) => {
        expect((await loadRequest(ds, requestId))?.status).toBe("queued");
        const steps = [{ store: "app", table: "users", action: "delete" as const, rows: 1 }];
        expect(await startErasurePrepared(ds, { requestId, resealed: Buffer.from("s"), holdHashes: [`h-${i}`], store: "app", steps, xid: "42" })).toEqual({
          started: true,
          holdId: null,
        });
        await recordStoresDone(
          ds,
          requestId,
          [
            { store: "cache", steps: [{ store: "cache", table: "session:{id}", action: "delete", rows: 1 }] },
            { store: "files", steps: [{ store: "files", table: "avatars/{id}.*", action: "delete", rows: 1 }] },
          ],
          ["app"],
        );
        await openCall(ds, { requestId, store: "crm" }, { idempotencyKey: randomUUID(), tokenHash: randomUUID(), deadlineMs: 60_000 });
        await endCall(ds, { requestId, store: "crm" }, { status: "done" }, { attempt: { httpStatus: 200 } });
        await recordStore(ds, requestId, "crm", [{ store: "crm", table: "webhook", action: "notified", rows: 1 }], "done", null);
        await completeRequest(ds, {
          requestId,
          result: { steps, subjectFound: true, outcome: "done", verified: true },
          event: "request.completed",
          subjectHash: `hash-${i}`,
          detail: {},
          endRestrictionsOf: `hash-${i}`,
        });
      }),
    );
    const done = await queryRows<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM lethe.subject_request WHERE id = ANY($1::uuid[]) AND status = 'completed'`,
      [ids],
    );
    expect(done[0]!.n).toBe(n);
  };

  /** Rows read from Lethe's tables (sequential and through indexes) since the last reset, once every session has reported. */
  const rowsRead = async (): Promise<number> => {
    const rows = await queryRows<{ n: string }>(
      db.url,
      `SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::text AS n
         FROM pg_stat_user_tables WHERE schemaname = 'lethe' AND relname = ANY($1::text[])`,
      [TABLES],
    );
    return Number(rows[0]!.n);
  };

  it("reads tens of rows per erasure on tables of 60,000 requests, with plans made when they were empty", async () => {
    // Plans made now, on nearly empty tables, by the sessions that will run them again below.
    await erasures(6);
    await runSql(
      db.url,
      `INSERT INTO lethe.subject_request (id, type, status, due_at, subject_hash, requested_by)
         SELECT gen_random_uuid(), 'erasure', 'completed', now(), 'old-' || i, 'test' FROM generate_series(1, 60000) i;
       INSERT INTO lethe.request_store (request_id, store, status) SELECT r.id, s, 'done' FROM lethe.subject_request r, unnest(ARRAY['app', 'cache', 'files', 'crm']) s ON CONFLICT DO NOTHING;
       INSERT INTO lethe.request_step (request_id, store, table_name, action, rows)
         SELECT r.id, s, t, 'delete', 1 FROM lethe.subject_request r, unnest(ARRAY['app', 'cache', 'files']) s, unnest(ARRAY['a', 'b']) t ON CONFLICT DO NOTHING;
       INSERT INTO lethe.restriction (request_id, subject_hash, subject_key, ground, status, opened_by)
         SELECT r.id, r.subject_hash, 'key', 'a', 'active', 'test' FROM lethe.subject_request r WHERE r.subject_hash LIKE 'old-%' LIMIT 20000`,
    );
    // Settle what the sessions counted so far (they report when idle for a second), then count afresh.
    await sleep(1500);
    await runSql(db.url, `SELECT pg_stat_reset()`);
    await erasures(10);
    // Ending the sessions makes them report their counts.
    await ds.destroy();
    let read = -1;
    for (let i = 0; i < 50 && read <= 0; i++) {
      await sleep(100);
      read = await rowsRead();
    }
    // A plan that scanned a table would read 60,000 or more rows per statement; keyed ones read a
    // handful per request (the foreign-key checks of the rows written included).
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(10 * 100);
  }, 60_000);
});
