import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseDataMap } from "../../src/datamap/load";
import { filesExporter } from "../../src/stores/files/exporter";
import type { Manifest } from "../../src/exports/manifest";
import { STRING_CHUNK } from "../../src/stores/redis/read";
import type { ExportEntryInput, ManifestEntry } from "../../src/stores/export-sink";
import { createLogger } from "../../src/logger";
import { runSql } from "../helpers/db";
import type { RawDataMap } from "../helpers/data-maps";
import { parseCsv, zipEntries, zipEntry, zipEntryDigest, zipTest } from "../helpers/zip";
import { createSmallShop, smallShopMapFile } from "./fixtures";
import { createExportHarness, type ExportHarness } from "./support";

/**
 * Exports that reach beyond Postgres: the small shop plus a redis store (keys of every type
 * under a random prefix), a files store in a temp directory, and a webhook store (not asked,
 * noted in the archive). The zip must hold exactly the subject's keys and files, byte for byte.
 */
jest.setTimeout(90_000);

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A redis record as `redis.json` writes it. */
interface RedisRecord {
  key: string;
  keyEncoding?: "base64";
  type: string;
  partial?: true;
  value?: string;
  encoding?: "base64";
  fields?: Array<{ field: string; fieldEncoding?: "base64"; value: string; encoding?: "base64" }>;
  members?: Array<{ value: string; encoding?: "base64"; score?: number | string }>;
  entries?: Array<{ id: string; fields: Array<{ field: string; value: string }> }>;
}

const SUBJECT = 2;
const LOOK_ALIKE = 20;
const emailOf = (id: number) => `customer${id}@shop.example`;
const CRM_SECRET = "crm-export-test-secret-0123456789";

describe("exports of redis, files and webhook stores", () => {
  const prefix = `t${randomBytes(5).toString("hex")}`;
  const base = mkdtempSync(join(tmpdir(), "lethe-other-stores-"));
  const root = join(base, "root");
  const k = (s: string) => `${prefix}:${s}`;
  const bigText = "Grüße aus Köln, 東京 🚀 — ".repeat(Math.ceil((STRING_CHUNK * 1.5) / 30));
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3]);
  let x: ExportHarness;

  /** Files per customer, relative to the root (binary content, one larger than a stream chunk). */
  const filesOf = (id: number): Record<string, Buffer> => ({
    [`avatars/${id}.png`]: randomBytes(3000),
    [`avatars/${id}.jpg`]: Buffer.from(`jpeg of ${id}`),
    [`uploads/${id}/invoice.pdf`]: randomBytes(200 * 1024 + 7),
    [`uploads/${id}/docs/passport.png`]: Buffer.concat([Buffer.from("\x89PNG\r\n"), randomBytes(1000)]),
    [`by-email/${emailOf(id)}/statement.pdf`]: Buffer.from(`statement of ${id}`),
  });
  const subjectFiles = filesOf(SUBJECT);

  async function seedKeys(id: number): Promise<void> {
    const r = x.h.redis;
    await r.set(k(`session:${id}`), JSON.stringify({ user: emailOf(id), csrf: 'a"b,c\nd' }));
    await r.set(k(`user:${emailOf(id)}`), String(id));
    await r.hset(k("profiles"), String(id), JSON.stringify({ name: `Customer ${id}` }));
    await r.set(k(`u:${id}:coupon`), `WELCOME-${id}`);
    await r.set(Buffer.from(k(`u:${id}:blob`)), binary);
    await r.set(k(`u:${id}:letter`), bigText);
    await r.hset(k(`u:${id}:cart`), { "TEA-GREEN-100": "2", "MUG-1": "1", "bin\u00e4ry": "x" });
    await r.hset(Buffer.from(k(`u:${id}:bincart`)), Buffer.from([0xc3, 0x28]), Buffer.from([0xff]));
    const big: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) big[`f${i}`] = `v${i}-${id}`;
    await r.hset(k(`u:${id}:bighash`), big);
    await r.rpush(k(`u:${id}:recent`), "p3", "p1", "p3", "p2");
    await r.sadd(k(`u:${id}:tags`), "tea", "coffee", "mugs");
    await r.zadd(k(`u:${id}:scores`), 1.5, "a", -2, "b", "+inf", "c");
    await r.xadd(k(`u:${id}:events`), "1-1", "kind", "login", "ip", "192.0.2.1");
    await r.xadd(k(`u:${id}:events`), "2-0", "kind", "logout");
  }

  beforeAll(async () => {
    mkdirSync(join(base, "outside"));
    writeFileSync(join(base, "outside", "secret.txt"), "not the application's");
    for (const id of [SUBJECT, LOOK_ALIKE]) {
      const files = id === SUBJECT ? subjectFiles : filesOf(id);
      for (const [f, content] of Object.entries(files)) {
        mkdirSync(dirname(join(root, f)), { recursive: true });
        writeFileSync(join(root, f), content);
      }
    }
    // Links that match the subject's patterns: never followed, never exported.
    symlinkSync(join(base, "outside", "secret.txt"), join(root, "avatars", `${SUBJECT}.lnk`));
    symlinkSync(join(base, "outside"), join(root, "uploads", String(SUBJECT), "linked"));

    const map = smallShopMapFile();
    x = await createExportHarness({
      map,
      env: { CACHE_REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", FILES_ROOT: root, CRM_URL: "http://127.0.0.1:9/hook", CRM_SECRET },
      prepare: createSmallShop,
      editMap: (raw: RawDataMap) => {
        const stores = raw.stores as Record<string, unknown>;
        stores.cache = {
          kind: "redis",
          url: "${CACHE_REDIS_URL}",
          keys: [{ pattern: `${prefix}:session:{id}` }, { pattern: `${prefix}:user:{email}` }, { pattern: `${prefix}:u:{id}:*` }],
          hashFields: [{ key: `${prefix}:profiles`, field: "{id}" }],
          purpose: "Sessions and carts",
        };
        stores.uploads = {
          kind: "files",
          root: "${FILES_ROOT}",
          paths: ["avatars/{id}.*", "uploads/{id}/**", "by-email/{email}/*"],
          purpose: "Avatars and documents",
        };
        stores.crm = { kind: "webhook", url: "${CRM_URL}", secret: "${CRM_SECRET}", identities: ["email"], purpose: "Customer relationship management" };
      },
    });
    for (const id of [SUBJECT, LOOK_ALIKE]) await seedKeys(id);
    await x.h.startWorker({ queues: ["export", "mail"] });
  });

  afterAll(async () => {
    if (x) {
      for await (const keys of x.h.redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await x.h.redis.unlink(...keys);
      }
      await x.cleanup();
    }
    rmSync(base, { recursive: true, force: true });
  });

  /** Exports a customer through the worker and returns the zip on disk and the request view. */
  async function exportCustomer(id: number) {
    const request = await x.submitExport({ id: String(id) });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"], 60_000);
    const rows = (await x.h.ds.query(`SELECT path, tables FROM lethe.export WHERE request_id = $1`, [request.id])) as Array<{
      path: string;
      tables: unknown;
    }>;
    return { view, file: rows[0] ? join(x.exportDir, rows[0].path) : null, tables: rows[0]?.tables };
  }

  it("holds exactly the subject's keys (every type, binary-safe) and files (byte-equal), the processor noted, checksums right", async () => {
    const { view, file, tables } = await exportCustomer(SUBJECT);
    expect(view.error).toBeNull();
    expect(view.status).toBe("completed");
    await zipTest(file!);

    const names = await zipEntries(file!);
    const fileEntries = Object.keys(subjectFiles).map((f) => `files/uploads/${f}`);
    expect([...names].sort()).toEqual(
      [
        ...["customers", "orders", "events"].flatMap((t) => [`data/shop/${t}.json`, `data/shop/${t}.csv`]),
        "data/cache/redis.json",
        "data/cache/redis.csv",
        ...fileEntries,
        "processors/crm.json",
        "index.html",
        "manifest.json",
      ].sort(),
    );

    // Files: byte for byte; no link target, no look-alike's file.
    for (const [f, content] of Object.entries(subjectFiles)) expect((await zipEntry(file!, `files/uploads/${f}`)).equals(content)).toBe(true);
    expect(names.some((n) => n.includes("secret") || n.includes(`/${LOOK_ALIKE}`) || n.endsWith(".lnk"))).toBe(false);

    // Redis JSON: every key of the subject, each once, with its exact content.
    const records = JSON.parse((await zipEntry(file!, "data/cache/redis.json")).toString("utf8")) as RedisRecord[];
    const byKey = new Map(records.map((r) => [r.keyEncoding ? Buffer.from(r.key, "base64").toString("latin1") : r.key, r]));
    expect(records).toHaveLength(byKey.size);
    const u = (s: string) => k(`u:${SUBJECT}:${s}`);
    expect([...byKey.keys()].sort()).toEqual(
      [
        k(`session:${SUBJECT}`),
        k(`user:${emailOf(SUBJECT)}`),
        k("profiles"),
        ...["coupon", "blob", "letter", "cart", "bincart", "bighash", "recent", "tags", "scores", "events"].map(u),
      ].sort(),
    );
    expect(byKey.get(k(`session:${SUBJECT}`))).toEqual({
      key: k(`session:${SUBJECT}`),
      type: "string",
      value: JSON.stringify({ user: emailOf(SUBJECT), csrf: 'a"b,c\nd' }),
    });
    expect(byKey.get(u("blob"))).toEqual({ key: u("blob"), type: "string", value: binary.toString("base64"), encoding: "base64" });
    expect(byKey.get(u("letter"))!.value).toBe(bigText);
    expect(byKey.get(u("cart"))!.fields!.sort((a, b) => (a.field < b.field ? -1 : 1))).toEqual([
      { field: "MUG-1", value: "1" },
      { field: "TEA-GREEN-100", value: "2" },
      { field: "binäry", value: "x" },
    ]);
    expect(byKey.get(u("bincart"))!.fields).toEqual([
      { field: Buffer.from([0xc3, 0x28]).toString("base64"), fieldEncoding: "base64", value: Buffer.from([0xff]).toString("base64"), encoding: "base64" },
    ]);
    const bigFields = byKey.get(u("bighash"))!.fields!;
    expect(bigFields).toHaveLength(2500);
    expect(new Set(bigFields.map((f) => f.field)).size).toBe(2500);
    expect(bigFields.every((f) => f.value === `v${f.field.slice(1)}-${SUBJECT}`)).toBe(true);
    expect(byKey.get(u("recent"))!.members).toEqual(["p3", "p1", "p3", "p2"].map((value) => ({ value })));
    expect(
      byKey
        .get(u("tags"))!
        .members!.map((m) => m.value)
        .sort(),
    ).toEqual(["coffee", "mugs", "tea"]);
    expect(byKey.get(u("scores"))!.members).toEqual([
      { value: "b", score: -2 },
      { value: "a", score: 1.5 },
      { value: "c", score: "inf" },
    ]);
    expect(byKey.get(u("events"))!.entries).toEqual([
      {
        id: "1-1",
        fields: [
          { field: "kind", value: "login" },
          { field: "ip", value: "192.0.2.1" },
        ],
      },
      { id: "2-0", fields: [{ field: "kind", value: "logout" }] },
    ]);
    // Only the subject's field of the shared hash.
    expect(byKey.get(k("profiles"))).toEqual({
      key: k("profiles"),
      type: "hash",
      partial: true,
      fields: [{ field: String(SUBJECT), value: JSON.stringify({ name: `Customer ${SUBJECT}` }) }],
    });
    const jsonText = (await zipEntry(file!, "data/cache/redis.json")).toString("utf8");
    expect(jsonText).not.toContain(`:${LOOK_ALIKE}:`);
    expect(jsonText).not.toContain(emailOf(LOOK_ALIKE));

    // Redis CSV: header, one row per value, binary rows base64 as a whole.
    const csv = parseCsv((await zipEntry(file!, "data/cache/redis.csv")).toString("utf8"));
    expect(csv[0]).toEqual(["key", "type", "field", "value", "encoding"]);
    const rows = csv.slice(1);
    expect(rows).toContainEqual([k(`session:${SUBJECT}`), "string", "", JSON.stringify({ user: emailOf(SUBJECT), csrf: 'a"b,c\nd' }), ""]);
    expect(rows).toContainEqual([u("cart"), "hash", "TEA-GREEN-100", "2", ""]);
    expect(rows).toContainEqual([u("recent"), "list", "3", "p2", ""]);
    expect(rows).toContainEqual([u("scores"), "zset", "1.5", "a", ""]);
    expect(rows).toContainEqual([u("events"), "stream", "1-1/ip", "192.0.2.1", ""]);
    expect(rows).toContainEqual([k("profiles"), "hash", String(SUBJECT), JSON.stringify({ name: `Customer ${SUBJECT}` }), ""]);
    expect(rows).toContainEqual([Buffer.from(u("blob")).toString("base64"), "string", "", binary.toString("base64"), "base64"]);
    expect(rows.find((r) => r[0] === u("letter"))![3]).toBe(bigText);
    expect(rows.filter((r) => r[0] === u("bighash"))).toHaveLength(2500);
    const expectedCsvRows = 1 + 1 + 1 + 1 + 1 + 1 + 3 + 1 + 2500 + 4 + 3 + 3 + 3;
    expect(rows).toHaveLength(expectedCsvRows);
    expect(rows.some((r) => r[0]!.includes(`:${LOOK_ALIKE}:`) || r[0]!.includes(emailOf(LOOK_ALIKE)))).toBe(false);

    // The processor: not asked, said so; listed as a recipient in the info sheet.
    expect(JSON.parse((await zipEntry(file!, "processors/crm.json")).toString("utf8"))).toEqual({
      store: "crm",
      status: "not-exported",
      reason: expect.stringContaining("not asked"),
      purpose: "Customer relationship management",
    });
    const html = (await zipEntry(file!, "index.html")).toString("utf8");
    expect(html).toMatch(/<td>crm <span class="cols">\(processor\)<\/span><\/td><td>Customer relationship management/);
    expect(html).toContain('href="processors/crm.json"');
    expect(html).toContain("<code>cache</code> (key-value store)");
    expect(html).toContain('href="data/cache/redis.json"');
    expect(html).toContain('href="files/uploads/uploads/2/invoice.pdf"');
    expect(html).not.toContain("127.0.0.1:9");
    expect(html).not.toContain(CRM_SECRET);

    // The manifest: every entry's bytes and SHA-256 as unzip reads them; rows per store.
    const manifest = JSON.parse((await zipEntry(file!, "manifest.json")).toString("utf8")) as Manifest;
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(names.filter((n) => n !== "manifest.json").sort());
    for (const e of manifest.entries) {
      const d = await zipEntryDigest(file!, e.path);
      expect({ path: e.path, bytes: d.bytes, sha256: d.sha256 }).toEqual({ path: e.path, bytes: e.bytes, sha256: e.sha256 });
    }
    const entry = (p: string): ManifestEntry => manifest.entries.find((e) => e.path === p)!;
    for (const [f, content] of Object.entries(subjectFiles)) {
      expect(entry(`files/uploads/${f}`)).toEqual({
        path: `files/uploads/${f}`,
        store: "uploads",
        contentType: "application/octet-stream",
        rows: 1,
        bytes: content.length,
        sha256: sha256(content),
      });
    }
    expect(entry("data/cache/redis.json").rows).toBe(13);
    expect(entry("data/cache/redis.csv").rows).toBe(expectedCsvRows);
    expect(tables).toEqual(
      expect.arrayContaining([
        { store: "cache", rows: 13 },
        { store: "uploads", rows: Object.keys(subjectFiles).length },
        { store: "crm", rows: 0 },
      ]),
    );
  });

  it("fails the export visibly on an identity value that would leave the files root, before reading any file", async () => {
    const hostile = "../../outside";
    await runSql(x.h.appDb.url, `INSERT INTO customers (id, email, full_name) VALUES (900, '${hostile}', 'Tra Versal')`);
    mkdirSync(join(root, "avatars"), { recursive: true });
    writeFileSync(join(root, "avatars", "900.png"), "the hostile subject's own avatar");
    const before = readdirSync(x.exportDir);

    const { view } = await exportCustomer(900);
    expect(view.status).toBe("failed");
    expect(view.error).toMatchObject({ code: "unsafe_identity", message: expect.stringContaining('store "uploads"') });
    expect(view.error!.message).not.toContain(hostile);
    // No zip (nor a partial one) was left behind.
    expect(readdirSync(x.exportDir).filter((f) => !before.includes(f))).toEqual([]);

    // The exporter itself: refuses before it lists or opens anything (nothing reaches the sink).
    const map = parseDataMap(
      {
        version: 1,
        subject: { store: "main", table: "users", key: "id", identities: { email: "email" } },
        stores: {
          main: { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none", tables: { users: { action: "delete" } } },
          uploads: { kind: "files", root, paths: ["avatars/{id}.*", "by-email/{email}/*"] },
        },
      },
      "(test)",
      {},
    );
    const added: ExportEntryInput[] = [];
    const sink = {
      add: async (e: ExportEntryInput): Promise<ManifestEntry> => (added.push(e), { path: e.path, contentType: e.contentType, bytes: 0, sha256: "" }),
    };
    const ctx = {
      requestId: randomUUID(),
      store: "uploads",
      snapshot: { identities: { id: "900", email: hostile }, seed: {} },
      logger: createLogger("silent"),
    };
    await expect(filesExporter("uploads", { dataMap: map }).exportStore(ctx, sink)).rejects.toMatchObject({ code: "unsafe_identity" });
    expect(added).toEqual([]);
    // Control: a safe subject of the same exporter gets its files.
    await filesExporter("uploads", { dataMap: map }).exportStore(
      { ...ctx, snapshot: { identities: { id: String(SUBJECT), email: emailOf(SUBJECT) }, seed: {} } },
      sink,
    );
    expect(added.map((e) => e.path).sort()).toEqual(
      [`avatars/${SUBJECT}.jpg`, `avatars/${SUBJECT}.png`, `by-email/${emailOf(SUBJECT)}/statement.pdf`].map((f) => `files/uploads/${f}`).sort(),
    );
    for (const e of added) if (typeof e.source === "object" && "destroy" in e.source) e.source.destroy();
  });
});
