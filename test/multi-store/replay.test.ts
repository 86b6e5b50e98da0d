import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDataMap } from "../../src/datamap/load";
import type { RequestView } from "../../src/requests/view";
import { runTs } from "../helpers/child-process";
import type { RawDataMap } from "../helpers/data-maps";
import { createScratchDb, queryRows, type ScratchDb } from "../helpers/db";
import { rowsContaining } from "../helpers/row-checksums";
import { waitFor } from "../helpers/wait";
import { createMultiStore, type MultiStore } from "./fixture";

/**
 * Issue #3, backups: a subject erased after a backup was taken comes back when the backup is
 * restored; `lethe replay --store shop --wait` finds them through the PII-free erasure ledger and
 * erases them again, and finds nobody on a second run.
 */
jest.setTimeout(60_000);

/** A copy of database `from` (`CREATE DATABASE … TEMPLATE`); retried while a just-closed session still lingers on the template. */
async function copyDatabase(from: string, stem: string): Promise<ScratchDb> {
  return waitFor(
    () => createScratchDb(stem, { template: from }).catch((err: unknown) => ((err as { code?: string }).code === "55006" ? undefined : Promise.reject(err))),
    `${from} to be free to copy`,
    10_000,
    100,
  );
}

describe("replay after a restore", () => {
  let w: MultiStore;
  const extra: ScratchDb[] = [];

  beforeAll(async () => {
    w = await createMultiStore();
  });

  afterAll(async () => {
    await w?.cleanup();
    for (const db of extra) await db.drop();
  });

  it("erases a subject the restored database brought back, and finds nobody the second time", async () => {
    const gone = await w.addSubject("restored");
    const stays = await w.addSubject("stays");
    // The "backup": a copy of the shop taken before the erasure.
    const backup = await copyDatabase(w.h.appDb.name, "lethe_backup");
    extra.push(backup);

    const first = await w.startWorker();
    const { json } = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { email: gone.email } });
    expect((await w.h.waitForStatus(json.id, ["completed", "failed"], 20_000)).status).toBe("completed");
    expect(await rowsContaining(w.h.appDb.url, gone.email)).toEqual([]);
    await first.close();

    // The "restore": the backup becomes the shop's database again; the erased subject is back.
    const restored = await copyDatabase(backup.name, "lethe_restored");
    extra.push(restored);
    const restoredUrl = restored.url;
    expect(await queryRows(restoredUrl, `SELECT id FROM customers WHERE email = $1`, [gone.email])).toEqual([{ id: gone.id }]);
    const staysBefore = await rowsContaining(restoredUrl, stays.marker);
    expect(staysBefore.length).toBeGreaterThan(0);

    // Workers and the replay command point at the restored database.
    const env = { ...w.h.env, SHOP_DATABASE_URL: restoredUrl };
    const raw = JSON.parse(readFileSync(join(w.base, "lethe.config.json"), "utf8")) as RawDataMap;
    await w.startWorker(parseDataMap(raw, "(restored)", env));

    const run = await runTs("workers/cli.ts", ["replay", "--store", "shop", "--wait"], env, 45_000);
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

    const second = await runTs("workers/cli.ts", ["replay", "--store", "shop", "--wait"], env, 45_000);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout.trim().split("\n").pop()!)).toEqual({ scanned: report.scanned - 1, found: 0, requests: [], completed: 0 });
  });
});
