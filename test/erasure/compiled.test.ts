import { Pool } from "pg";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { readFileSync } from "node:fs";
import { compiledErasure } from "../../src/stores/postgres/compile";
import { eraseStore, LeftoversError, previewStore, resolveAndEraseStore, verifyStore } from "../../src/stores/postgres/erase";
import { introspect } from "../../src/stores/postgres/introspect";
import { buildStorePlan, type StorePlan } from "../../src/stores/postgres/store-plan";
import type { StepCount } from "../../src/types";
import { loadTraps } from "../fixtures/traps/seed";
import { CHINOOK_MAP } from "../helpers/data-maps";
import { createScratchDb, loadChinook, queryRows, runSql, type ScratchDb } from "../helpers/db";
import { diffChecksums, NO_CHANGE, rowChecksums, sortKeys, type ChecksumDiff } from "../helpers/row-checksums";
import { markErasureDiff, trapsMap } from "../discovery/traps";

/**
 * The compiled erasure (`stores/postgres/compile`): one server-side function per map and schema.
 * Exactness is checked on real schemas by a per-row checksum of every table before and after:
 * exactly the expected rows change, nothing else.
 */
jest.setTimeout(120_000);

async function planOf(pool: Pool, map: DataMap, store: string): Promise<StorePlan> {
  const spec = map.stores[store]!;
  if (spec.kind !== "postgres") throw new Error("not a postgres store");
  return buildStorePlan(map, store, await introspect(pool, spec.schema));
}

const noop = async (): Promise<void> => undefined;
const rowsOf = (steps: StepCount[]) => Object.fromEntries(steps.map((s) => [`${s.table}/${s.action}`, s.rows]));

describe("compiled erasure on the trap shop", () => {
  let db: ScratchDb;
  let pool: Pool;
  let map: DataMap;
  let plan: StorePlan;

  beforeAll(async () => {
    db = await createScratchDb("lethe_compiled_traps");
    await loadTraps(db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
    map = trapsMap(db.url);
    plan = await planOf(pool, map, "shop");
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("a failed verification rolls everything back and records nothing", async () => {
    const before = await rowChecksums(db.url);
    // The application keeps the tickets (a trigger skips their DELETE): the re-check finds them.
    await runSql(
      db.url,
      `CREATE FUNCTION public.keep_tickets() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
       CREATE TRIGGER keep_tickets BEFORE DELETE ON public.support_tickets FOR EACH ROW EXECUTE FUNCTION public.keep_tickets();`,
    );
    let recorded = false;
    try {
      const err = await resolveAndEraseStore(pool, plan, map, { name: "email", value: "ZQXMARK8@example.com" }, async () => {
        recorded = true;
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LeftoversError);
      expect((err as LeftoversError).leftovers).toEqual(["shop.support_tickets: 2 row(s) still present"]);
    } finally {
      await runSql(db.url, `DROP TRIGGER keep_tickets ON public.support_tickets; DROP FUNCTION public.keep_tickets();`);
    }
    expect(recorded).toBe(false);
    expect(diffChecksums(before, await rowChecksums(db.url))).toEqual(NO_CHANGE);
  });

  it("changes exactly the subject's rows (every partition, email links, shared rows left), then re-checks clean", async () => {
    const expected = await markErasureDiff(db.url);
    const before = await rowChecksums(db.url);
    const preview = (await previewStoreOf("ZQXMARK8@example.com"))!;
    let prepared: { xid: string; steps: StepCount[] } | undefined;
    const done = await resolveAndEraseStore(pool, plan, map, { name: "email", value: "ZQXMARK8@example.com" }, async (xid, steps) => {
      prepared = { xid, steps };
    });
    expect(done).not.toBeNull();
    expect(prepared?.xid).toMatch(/^\d+$/);
    expect(prepared?.steps).toEqual(done!.steps);
    expect(done!.snapshot.identities).toMatchObject({ id: "1", email: "zqxmark8@example.com" });
    const diff = diffChecksums(before, await rowChecksums(db.url));
    expect(diff).toEqual(expected);
    expect(rowsOf(done!.steps)).toEqual(rowsOf(preview));
    const removed = (table: string) => diff.removed.filter((k) => k.startsWith(`${table}:`)).length;
    expect(rowsOf(done!.steps)["support_tickets/delete"]).toBe(removed("support_tickets"));
    expect(await verifyStore(pool, plan, map, done!.snapshot)).toEqual([]);

    // A second erasure from the snapshot finds nothing left to change.
    const after = await rowChecksums(db.url);
    const again = await eraseStore(pool, plan, map, done!.snapshot, noop);
    expect(again.filter((s) => s.action === "delete" || s.action === "anonymize").every((s) => s.rows === 0)).toBe(true);
    expect(diffChecksums(after, await rowChecksums(db.url))).toEqual(NO_CHANGE);
  });

  it("an unknown subject changes nothing", async () => {
    const before = await rowChecksums(db.url);
    expect(await resolveAndEraseStore(pool, plan, map, { name: "email", value: "nobody@example.com" }, noop)).toBeNull();
    expect(diffChecksums(before, await rowChecksums(db.url))).toEqual(NO_CHANGE);
  });

  /** The preview's steps for the subject with `email` (read-only). */
  async function previewStoreOf(email: string): Promise<StepCount[] | null> {
    const [row] = await queryRows<{ id: string }>(db.url, `SELECT id::text AS id FROM customers WHERE lower(btrim(email)) = lower(btrim($1))`, [email]);
    if (!row) return null;
    const snapshot = { identities: { id: row.id }, seed: await seedOf(row.id) };
    return previewStore(pool, plan, map, snapshot);
  }

  async function seedOf(id: string): Promise<Record<string, string | null>> {
    const [row] = await queryRows<Record<string, string | null>>(db.url, `SELECT id::text AS id, email FROM customers WHERE id = $1`, [id]);
    return row!;
  }
});

describe("compiled erasure on Chinook", () => {
  let db: ScratchDb;
  let pool: Pool;
  let map: DataMap;

  beforeAll(async () => {
    db = await createScratchDb("lethe_compiled_chinook");
    await loadChinook(db.url);
    pool = new Pool({ connectionString: db.url, max: 1 });
    map = parseDataMap(JSON.parse(readFileSync(CHINOOK_MAP.path, "utf8")) as unknown, CHINOOK_MAP.path, { [CHINOOK_MAP.urlVar]: db.url });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** Customer `id`'s row and invoices change; their invoice lines (kept, no personal fields) and everyone else's rows do not. */
  async function expectedDiff(id: number): Promise<ChecksumDiff> {
    const invoices = await queryRows<{ k: string }>(db.url, `SELECT invoice_id::text AS k FROM invoice WHERE customer_id = $1`, [id]);
    return { removed: [], added: [], changed: sortKeys([`customer:${id}`, ...invoices.map((r) => `invoice:${r.k}`)]) };
  }

  it("anonymizes exactly one customer and masks their invoices; a schema change the plan reads compiles it again", async () => {
    const plan = await planOf(pool, map, "main");
    const first = compiledErasure(plan, map);
    const expected7 = await expectedDiff(7);
    const before = await rowChecksums(db.url);
    const done = await resolveAndEraseStore(pool, plan, map, { name: "id", value: "7" }, noop);
    expect(diffChecksums(before, await rowChecksums(db.url))).toEqual(expected7);
    const lines = await queryRows<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id WHERE i.customer_id = 7`,
    );
    expect(rowsOf(done!.steps)).toEqual({
      "customer/anonymize": 1,
      "invoice/keep": expected7.changed.length - 1,
      "invoice_line/keep": lines[0]!.n,
    });

    // The application migrates. A column the erasure does not read leaves the compiled SQL as it
    // was; a link column of another type compiles to another function, created on the same pooled
    // connection next to the first.
    await runSql(db.url, `ALTER TABLE invoice ADD COLUMN internal_note text`);
    expect(compiledErasure(await planOf(pool, map, "main"), map).fingerprint).toBe(first.fingerprint);
    await runSql(db.url, `ALTER TABLE invoice ALTER COLUMN customer_id TYPE bigint`);
    const plan2 = await planOf(pool, map, "main");
    const second = compiledErasure(plan2, map);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(compiledErasure(plan2, map)).toBe(second);
    const expected8 = await expectedDiff(8);
    const before8 = await rowChecksums(db.url);
    await resolveAndEraseStore(pool, plan2, map, { name: "id", value: "8" }, noop);
    expect(diffChecksums(before8, await rowChecksums(db.url))).toEqual(expected8);
  });
});
