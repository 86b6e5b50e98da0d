import { join } from "node:path";
import { TRAPS, loadTraps } from "../fixtures/traps/seed";
import { TRAPS_MAP } from "../helpers/data-maps";
import { zipEntries, zipEntry } from "../helpers/zip";
import { createExportHarness, type ExportHarness } from "../exports/support";
import type { WorkerHandle } from "../../workers/worker";
import type { RawDataMap } from "../helpers/data-maps";

/**
 * Issue 9, item 6: an export holds the subject's data only — rows that depend on the subject, and
 * rows the subject references that nobody else references (their own address). Other people's
 * tables (employees, shops) are never exported; a row the subject only references and someone
 * else uses too (an employee's or a shop's address, a household's shared address) is left out.
 * On main at 01e884f the zip held employees' names, emails, usernames and password hashes and
 * other people's addresses.
 */
jest.setTimeout(180_000);

type Row = Record<string, unknown>;

/** Exports a trap customer and reads its zip: entry names and each table's JSON rows. */
async function exportOf(x: ExportHarness, id: number): Promise<{ names: string[]; tables: Record<string, Row[]>; text: string }> {
  const request = await x.submitExport({ id: String(id) });
  const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
  expect(view).toMatchObject({ status: "completed", outcome: "done", error: null });
  const [row] = (await x.h.ds.query(`SELECT path FROM lethe.export WHERE request_id = $1`, [request.id])) as Array<{ path: string }>;
  const file = join(x.exportDir, row!.path);
  const names = await zipEntries(file);
  const tables: Record<string, Row[]> = {};
  let text = "";
  for (const name of names) {
    const body = (await zipEntry(file, name)).toString("utf8");
    text += body;
    const m = /^data\/shop\/(.+)\.json$/.exec(name);
    if (m) tables[m[1]!] = JSON.parse(body) as Row[];
  }
  return { names, tables, text };
}

const ids = (rows: Row[] | undefined): unknown[] => (rows ?? []).map((r) => r.id);

/** Values of other people that must never be in a customer's export. */
const STAFF = ["@staff.trap.test", "Staff1", "Member1", "Trap Shop Berlin", "Staff Street"];

describe("exports on the trap shop hold the subject's data only", () => {
  let x: ExportHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    x = await createExportHarness({ map: TRAPS_MAP, prepare: (url) => loadTraps(url) });
    worker = await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await worker?.close();
    await x?.cleanup();
  });

  it("the subject's own rows in every table (every partition, email-linked rows), no employee, no shop", async () => {
    const { names, tables, text } = await exportOf(x, TRAPS.mark.id);
    expect(ids(tables.customers)).toEqual([TRAPS.mark.id]);
    expect(ids(tables.addresses)).toEqual([TRAPS.mark.addressId]);
    expect(tables.payments).toHaveLength(3);
    expect(tables.support_tickets).toHaveLength(2);
    expect(tables.orders).toHaveLength(2);
    expect(names.filter((n) => /employees|shops/.test(n))).toEqual([]);
    // Employee 9 is referenced only by this customer's order: still other people's data, not exported.
    for (const v of STAFF) expect(text).not.toContain(v);
  });

  it("an address the subject shares with an employee, a shop or a household member is left out", async () => {
    for (const id of [TRAPS.sharesWithEmployee.id, TRAPS.sharesWithShop.id, TRAPS.household.ids[0], TRAPS.household.ids[1]]) {
      const { tables, text } = await exportOf(x, id);
      expect({ id, customers: ids(tables.customers), addresses: ids(tables.addresses) }).toEqual({ id, customers: [id], addresses: [] });
      for (const v of STAFF) expect(text).not.toContain(v);
    }
  });

  it("a customer's own address (used by nobody else) is in the export", async () => {
    const { tables } = await exportOf(x, 7);
    expect(ids(tables.addresses)).toEqual([107]);
  });
});

describe("exports when a referenced people table is declared the subject's `keep` (what the issue found)", () => {
  let x: ExportHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    x = await createExportHarness({
      map: TRAPS_MAP,
      prepare: (url) => loadTraps(url),
      editMap: (raw: RawDataMap) => {
        const tables = (raw as unknown as { stores: { shop: { tables: Record<string, unknown> } } }).stores.shop.tables;
        tables.employees = {
          action: "keep",
          ground: "employment records",
          fields: {
            first_name: { category: "identity", retain: true },
            last_name: { category: "identity", retain: true },
            email: { category: "contact", retain: true },
            username: { category: "identity", retain: true },
            password_hash: { category: "credentials", retain: true },
            picture: { category: "image", retain: true },
          },
        };
      },
    });
    worker = await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await worker?.close();
    await x?.cleanup();
  });

  it("an employee who served other customers too is shared: not in the export", async () => {
    const { tables, text } = await exportOf(x, 7);
    expect(tables.orders).toHaveLength(2);
    expect(tables.employees).toEqual([]);
    expect(text).not.toContain("@staff.trap.test");
  });
});
