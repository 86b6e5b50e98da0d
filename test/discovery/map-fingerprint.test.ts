import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataMapError } from "../../src/datamap/load";
import { mapFingerprint } from "../../src/datamap/fingerprint";
import { submitRequest } from "../../src/requests/service";
import { startApi } from "../../workers/api";
import { loadTraps } from "../fixtures/traps/seed";
import { testConfig } from "../helpers/config";
import { TRAPS_MAP } from "../helpers/data-maps";
import { createScratchDb, runSql, type ScratchDb } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { rawTrapsMap, trapsMap } from "./traps";

/**
 * Issue 9, item 12: one map per deployment. Each request records the fingerprint of the data map
 * and the mapped schema; a worker with another fingerprint fails it (`map_mismatch`, naming
 * both); `/readyz` shows the fingerprint; the API refuses a map that fails `lethe check`.
 */
describe("the data map's fingerprint", () => {
  let db: ScratchDb;
  let other: ScratchDb;

  beforeAll(async () => {
    db = await createScratchDb("lethe_fp");
    await loadTraps(db.url);
    other = await createScratchDb("lethe_fp_other");
    await loadTraps(other.url);
  });

  afterAll(async () => {
    await db?.drop();
    await other?.drop();
  });

  it("is stable, leaves secrets out, and changes with the map, the schema's shape and the database", async () => {
    const fp = await mapFingerprint(trapsMap(db.url));
    expect(fp).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await mapFingerprint(trapsMap(db.url))).toBe(fp);
    // The same database through a URL with a password (trust auth ignores it): the URL is not part of it.
    const withPassword = db.url.replace("postgres@", "postgres:s3cret@");
    expect(withPassword).not.toBe(db.url);
    expect(await mapFingerprint(trapsMap(withPassword))).toBe(fp);
    // Another declaration.
    const masked = await mapFingerprint(
      trapsMap(db.url, (raw) => ((raw.stores.shop.tables.customers!.fields as Record<string, unknown>).locale = { personal: false })),
    );
    expect(masked).not.toBe(fp);
    // Another database with the same schema.
    expect(await mapFingerprint(trapsMap(other.url))).not.toBe(fp);
    // A new partition (monthly partitions come and go) does not split a deployment; a new column does.
    await runSql(db.url, `CREATE TABLE payments_2024_04 PARTITION OF payments FOR VALUES FROM ('2024-04-01') TO ('2024-05-01')`);
    expect(await mapFingerprint(trapsMap(db.url))).toBe(fp);
    await runSql(db.url, `ALTER TABLE orders ADD COLUMN gift_note text`);
    expect(await mapFingerprint(trapsMap(db.url))).not.toBe(fp);
    await runSql(db.url, `ALTER TABLE orders DROP COLUMN gift_note`);
    expect(await mapFingerprint(trapsMap(db.url))).toBe(fp);
  });
});

describe("one map per deployment", () => {
  let h: LetheHarness;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-fp-"));
    h = await createHarness({ map: TRAPS_MAP, prepare: (url) => loadTraps(url) });
  });

  afterAll(async () => {
    await h?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a worker with another data map fails the request with map_mismatch, naming both fingerprints, and changes nothing", async () => {
    const theirs = await mapFingerprint(
      trapsMap(h.appDb.url, (raw) => ((raw.stores.shop.tables.customers!.fields as Record<string, unknown>).locale = { personal: false })),
    );
    const worker = await h.startWorker();
    const mine = worker.services.mapFingerprint!;
    expect(mine).toBe(await mapFingerprint(h.dataMap));
    expect(theirs).not.toBe(mine);
    const { request } = await submitRequest(
      { ds: h.ds, config: h.config, dataMap: h.dataMap, logger: h.logger, queues: { erasure: h.erasureQueue }, mapFingerprint: theirs },
      { type: "erasure", subject: { id: "1" }, requestedBy: "test" },
    );
    expect(request.mapFingerprint).toBe(theirs);
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    expect(view.error?.code).toBe("map_mismatch");
    expect(view.error?.message).toContain(theirs);
    expect(view.error?.message).toContain(mine);

    // A request made under the worker's own map runs.
    const same = await submitRequest(
      { ds: h.ds, config: h.config, dataMap: h.dataMap, logger: h.logger, queues: { erasure: h.erasureQueue }, mapFingerprint: mine },
      { type: "erasure", subject: { id: "1" }, requestedBy: "test", dryRun: true },
    );
    expect((await h.waitForStatus(same.request.id, ["completed", "failed"])).status).toBe("completed");
  });

  it("/readyz shows the fingerprint, and the API refuses to start on a map that fails lethe check", async () => {
    // In-process, the map file names its store directly (loadDataMap reads this process's environment).
    const withUrl = (raw: Record<string, unknown>): Record<string, unknown> => ({
      ...raw,
      stores: { shop: { ...(raw.stores as { shop: object }).shop, url: h.appDb.url } },
    });
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify(withUrl(rawTrapsMap())));
    const config = testConfig({ ...h.env, LETHE_DATA_MAP: good, PORT: "0" });
    const api = await startApi(config, { handleSignals: false, logger: h.logger });
    try {
      const ready = (await (await fetch(`${api.url}/readyz`)).json()) as { status: string; mapFingerprint: string };
      expect(ready).toMatchObject({ status: "ok", mapFingerprint: await mapFingerprint(h.dataMap) });
    } finally {
      await api.close();
    }

    const bad = rawTrapsMap() as ReturnType<typeof rawTrapsMap> & { stores: { shop: { tables: Record<string, { via?: unknown }> } } };
    delete bad.stores.shop.tables.reviews!.via;
    const badFile = join(dir, "bad.json");
    writeFileSync(badFile, JSON.stringify(withUrl(bad)));
    const refused = startApi(testConfig({ ...h.env, LETHE_DATA_MAP: badFile, PORT: "0" }), { handleSignals: false, logger: h.logger });
    await expect(refused).rejects.toThrow(DataMapError);
    await expect(refused).rejects.toThrow(/stores\.shop\.tables\.reviews\.via: \[unlinked-reference\]/);
  });
});
