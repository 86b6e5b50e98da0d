import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { parseDataMap } from "../../src/datamap/load";
import type { RequestView } from "../../src/requests/view";
import { runTs } from "../helpers/child-process";
import type { RawDataMap } from "../helpers/data-maps";
import { PG_BASE, queryRows } from "../helpers/db";
import { rowsContaining } from "../helpers/row-checksums";
import { createMultiStore, type MultiStore } from "./fixture";

/**
 * Issue #3, backups: a subject erased after a backup was taken comes back when the backup is
 * restored; `lethe replay --store shop --wait` finds them through the PII-free erasure ledger and
 * erases them again, and finds nobody on a second run.
 */
jest.setTimeout(60_000);

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** `CREATE DATABASE <name> TEMPLATE <from>`; retried while a just-closed session still lingers on the template. */
async function copyDatabase(from: string, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${from}"`));
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "55006" || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("replay after a restore", () => {
  let w: MultiStore;
  const extra: string[] = [];

  beforeAll(async () => {
    w = await createMultiStore();
  });

  afterAll(async () => {
    await w?.cleanup();
    for (const name of extra) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch(() => undefined);
  });

  it("erases a subject the restored database brought back, and finds nobody the second time", async () => {
    const gone = await w.addSubject("restored");
    const stays = await w.addSubject("stays");
    // The "backup": a copy of the shop taken before the erasure.
    const backup = `${w.h.appDb.name}_backup`;
    extra.push(backup);
    await copyDatabase(w.h.appDb.name, backup);

    const first = await w.startWorker();
    const { json } = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { email: gone.email } });
    expect((await w.h.waitForStatus(json.id, ["completed", "failed"], 20_000)).status).toBe("completed");
    expect(await rowsContaining(w.h.appDb.url, gone.email)).toEqual([]);
    await first.close();

    // The "restore": the backup becomes the shop's database again; the erased subject is back.
    const restored = `${w.h.appDb.name}_restored`;
    extra.push(restored);
    await copyDatabase(backup, restored);
    const restoredUrl = `${PG_BASE}/${restored}`;
    expect(await queryRows(restoredUrl, `SELECT id FROM customers WHERE email = $1`, [gone.email])).toEqual([{ id: gone.id }]);
    const staysBefore = await rowsContaining(restoredUrl, stays.marker);
    expect(staysBefore.length).toBeGreaterThan(0);

    // Workers and the replay command point at the restored database.
    const env = { ...w.h.env, SHOP_DATABASE_URL: restoredUrl };
    const raw = JSON.parse(readFileSync(join(w.base, "lethe.config.json"), "utf8")) as RawDataMap;
    await w.startWorker(parseDataMap(raw, "(restored)", env));

    const run = await runTs("src/cli/main.ts", ["replay", "--store", "shop", "--wait"], env, 45_000);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(run.stdout.trim().split("\n").pop()!) as { scanned: number; found: number; requests: string[]; completed: number };
    expect(report).toEqual({ scanned: expect.any(Number), found: 1, requests: [expect.any(String)], completed: 1 });
    expect(report.scanned).toBeGreaterThanOrEqual(32);
    // The report holds counts and request ids only (its shape is checked above); no identity in it.
    for (const v of [gone.email, gone.name]) expect(run.stdout).not.toContain(v);

    // Gone again (SQL on the restored database); everybody else as restored.
    expect(await queryRows(restoredUrl, `SELECT id FROM customers WHERE id = $1 OR email = $2`, [gone.id, gone.email])).toEqual([]);
    expect(await rowsContaining(restoredUrl, gone.email)).toEqual([]);
    expect(await rowsContaining(restoredUrl, gone.marker)).toEqual([]);
    expect(await rowsContaining(restoredUrl, stays.marker)).toEqual(staysBefore);
    const view = (await w.http<RequestView>("GET", `/v1/requests/${report.requests[0]}`)).json;
    expect(view.status).toBe("completed");
    expect(view.steps).toEqual(expect.arrayContaining([{ store: "shop", table: "customers", action: "delete", rows: 1 }]));
    const [audit] = (await w.h.ds.query(`SELECT requested_by FROM lethe.subject_request WHERE id = $1`, [report.requests[0]])) as Array<{
      requested_by: string;
    }>;
    expect(audit!.requested_by).toBe("replay");

    const second = await runTs("src/cli/main.ts", ["replay", "--store", "shop", "--wait"], env, 45_000);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout.trim().split("\n").pop()!)).toEqual({ scanned: report.scanned - 1, found: 0, requests: [], completed: 0 });
  });
});
