import type { DataSource } from "typeorm";
import { insertHold } from "../../src/db/tables/legal-hold";
import { startErasurePrepared } from "../../src/db/tables/subject-request";
import { migratedLetheDb, type ScratchDb } from "../helpers/db";

/**
 * The statement that records an erased-but-not-committed store is group-committed: erasures that
 * reach it while one is in flight go together. Each item keeps its own outcome in a shared batch.
 */
describe("startErasurePrepared, batched", () => {
  let db: ScratchDb;
  let ds: DataSource;

  beforeAll(async () => {
    ({ db, ds } = await migratedLetheDb());
  });

  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  const request = async (hash: string, status = "queued"): Promise<string> => {
    const rows = (await ds.query(
      `INSERT INTO lethe.subject_request (type, status, due_at, subject_hash, requested_by)
       VALUES ('erasure', $2, now() + interval '30 days', $1, 'test') RETURNING id`,
      [hash, status],
    )) as Array<{ id: string }>;
    return rows[0]!.id;
  };

  it("records each item's store, or holds it, or leaves a finished request alone, in shared batches", async () => {
    const held = await request("hash-held");
    const hold = await insertHold(ds, { subjectHash: "hash-held", ground: "litigation", by: "legal" });
    const ids = [await request("hash-a"), await request("hash-b"), held, await request("hash-c", "completed"), await request("hash-d")];
    const steps = (n: number) => [
      { store: "app", table: "users", action: "delete" as const, rows: 1 },
      { store: "app", table: "orders", action: "anonymize" as const, rows: n },
    ];
    // The first goes at once; the others arrive while it is in flight and go together.
    const outcomes = await Promise.all(
      ids.map((requestId, i) =>
        startErasurePrepared(ds, {
          requestId,
          resealed: Buffer.from(`sealed-${i}`),
          holdHashes: [`hash-${"abhcd"[i]}`, requestId === held ? "hash-held" : "other"],
          store: "app",
          steps: steps(i + 1),
          xid: String(1000 + i),
        }),
      ),
    );
    expect(outcomes).toEqual([
      { started: true, holdId: null },
      { started: true, holdId: null },
      { started: true, holdId: hold.id },
      { started: false, holdId: null },
      { started: true, holdId: null },
    ]);
    const requests = (await ds.query(
      `SELECT id, status, hold_id, convert_from(identities, 'UTF8') AS sealed FROM lethe.subject_request WHERE id = ANY($1::uuid[])`,
      [ids],
    )) as Array<{ id: string; status: string; hold_id: string | null; sealed: string | null }>;
    const byId = new Map(requests.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id)!.status)).toEqual(["running", "running", "held", "completed", "running"]);
    expect(byId.get(held)!.hold_id).toBe(hold.id);
    expect(ids.map((id) => byId.get(id)!.sealed)).toEqual(["sealed-0", "sealed-1", "sealed-2", null, "sealed-4"]);
    const stores = (await ds.query(`SELECT request_id, status, xid::text AS xid FROM lethe.request_store WHERE request_id = ANY($1::uuid[]) ORDER BY xid`, [
      ids,
    ])) as Array<{ request_id: string; status: string; xid: string }>;
    expect(stores).toEqual([
      { request_id: ids[0], status: "prepared", xid: "1000" },
      { request_id: ids[1], status: "prepared", xid: "1001" },
      { request_id: ids[4], status: "prepared", xid: "1004" },
    ]);
    const stepRows = (await ds.query(
      `SELECT request_id, table_name, rows FROM lethe.request_step WHERE request_id = ANY($1::uuid[]) ORDER BY request_id, table_name`,
      [ids],
    )) as Array<{ request_id: string; table_name: string; rows: number }>;
    expect(
      stepRows
        .filter((r) => r.table_name === "orders")
        .map((r) => [ids.indexOf(r.request_id), r.rows])
        .sort((a, b) => a[0]! - b[0]!),
    ).toEqual([
      [0, 1],
      [1, 2],
      [4, 5],
    ]);
    expect(stepRows.filter((r) => r.request_id === held || r.request_id === ids[3])).toEqual([]);
  });

  it("replaces the steps of an earlier attempt: a table no longer erased is dropped", async () => {
    const id = await request("hash-again");
    const base = { requestId: id, resealed: Buffer.from("s"), holdHashes: ["hash-again"], store: "app" };
    await startErasurePrepared(ds, { ...base, xid: "7", steps: [{ store: "app", table: "gone", action: "delete", rows: 3 }] });
    await startErasurePrepared(ds, { ...base, xid: "8", steps: [{ store: "app", table: "users", action: "delete", rows: 1 }] });
    const rows = (await ds.query(`SELECT table_name, rows FROM lethe.request_step WHERE request_id = $1`, [id])) as unknown[];
    expect(rows).toEqual([{ table_name: "users", rows: 1 }]);
    const store = (await ds.query(`SELECT xid::text AS xid FROM lethe.request_store WHERE request_id = $1`, [id])) as unknown[];
    expect(store).toEqual([{ xid: "8" }]);
  });
});
