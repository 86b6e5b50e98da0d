import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Client } from "pg";
import { erasedSubjectHashes } from "../../src/db/tables/audit-log";
import { scanForErased } from "../../src/erasure/replay";
import { buildServer } from "../../src/http/server";
import { identityEqualsSql } from "../../src/stores/postgres/identity-sql";
import { StorePools } from "../../src/stores/postgres/pools";
import { StoreSet } from "../../src/stores/store-set";
import { loadTraps } from "../fixtures/traps/seed";
import { TEST_KEYS } from "../helpers/config";
import { createScratchDb, queryRows, runSql, type ScratchDb } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums } from "../helpers/row-checksums";

/**
 * Issue 9, item 3: identities match the way the application means them — per-identity rules in
 * resolve, holds and replay; two rows matching after normalisation is a clear error; the SQL is
 * the expression an index can serve.
 */
const ACCOUNTS_SQL = `
  CREATE TABLE accounts (id serial PRIMARY KEY, login text NOT NULL UNIQUE, email text NOT NULL UNIQUE, full_name text NOT NULL);
  INSERT INTO accounts (login, email, full_name) VALUES
    ('ann.smith', 'ann@example.org', 'Ann Smith'),
    ('bob', 'Bob@Example.org', 'Bob One'),
    ('bobby', 'bob@example.org', 'Bob Two'),
    ('carol', 'carol@example.org', 'Carol');
`;

const ACCOUNTS_MAP = {
  version: 1,
  subject: {
    store: "app",
    table: "accounts",
    key: "id",
    identities: { email: "email", login: { column: "login", match: "normalized" } },
  },
  stores: {
    app: {
      kind: "postgres",
      url: "${ACCOUNTS_DATABASE_URL}",
      tables: {
        accounts: {
          action: "delete",
          fields: {
            login: { category: "online", mask: "token" },
            email: { category: "contact", mask: "email" },
            full_name: { category: "identity", mask: "token" },
          },
        },
      },
    },
  },
};

describe("identities matched by their rule", () => {
  let h: LetheHarness;
  let api: FastifyInstance;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-ident-"));
    const path = join(dir, "lethe.config.json");
    writeFileSync(path, JSON.stringify(ACCOUNTS_MAP));
    h = await createHarness({ map: { path, urlVar: "ACCOUNTS_DATABASE_URL" }, prepare: (url) => runSql(url, ACCOUNTS_SQL) });
    await h.startWorker();
    api = await buildServer({
      ds: h.ds,
      config: h.config,
      dataMap: h.dataMap,
      queues: { erasure: h.erasureQueue, maintenance: h.maintenanceQueue },
      redis: h.redis,
      logger: h.logger,
    });
  });

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("two rows matching after normalisation: subject_ambiguous, nothing changed (never a guess)", async () => {
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ email: "BOB@example.org" });
    const view = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    expect(view.error).toEqual({ code: "subject_ambiguous", message: "more than one subject row matches the given email" });
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
  });

  it("a hold placed by a differently written login holds the subject; the erasure by that login runs once released", async () => {
    const hold = await api.inject({
      method: "POST",
      url: "/v1/holds",
      headers: { authorization: `Bearer ${TEST_KEYS.holds}` },
      payload: { subject: { login: " ANN.Smith" }, ground: "litigation hold, case 42" },
    });
    expect(hold.statusCode).toBe(201);
    const { request } = await h.submit({ login: "Ann.Smith  " });
    expect((await h.waitForStatus(request.id, ["held", "completed", "failed"])).status).toBe("held");
    const released = await api.inject({
      method: "DELETE",
      url: `/v1/holds/${hold.json<{ id: string }>().id}`,
      headers: { authorization: `Bearer ${TEST_KEYS.holds}` },
    });
    expect(released.statusCode).toBe(200);
    const done = await h.waitForStatus(request.id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.steps).toEqual([{ store: "app", table: "accounts", action: "delete", rows: 1 }]);
    expect(await queryRows(h.appDb.url, `SELECT id FROM accounts WHERE login = 'ann.smith'`)).toEqual([]);
  });

  it("replay: a restored row written differently (case, spaces) is found through the ledger's normalised hash", async () => {
    // The "restore": the erased account comes back, its login as an older version of the app stored it.
    await runSql(h.appDb.url, `INSERT INTO accounts (login, email, full_name) VALUES (' Ann.Smith', 'ann@example.org', 'Ann Smith')`);
    const ledger = await erasedSubjectHashes(h.ds);
    const adapter = h.dataMap.subject.store;
    const pools = new StorePools(h.dataMap, 2);
    const stores = new StoreSet({ dataMap: h.dataMap, config: h.config, pools, logger: h.logger, ds: h.ds });
    try {
      const scan = await scanForErased(stores.adapter(adapter), ledger, h.config.hmacKey, 100, h.dataMap.subject);
      const [restored] = await queryRows<{ id: number }>(h.appDb.url, `SELECT id FROM accounts WHERE login = ' Ann.Smith'`);
      expect(scan.found).toEqual([String(restored!.id)]);
    } finally {
      await stores.close();
      await pools.close();
    }
  });
});

describe("index-friendly matching", () => {
  let db: ScratchDb;

  beforeAll(async () => {
    db = await createScratchDb("lethe_ident_idx");
    await loadTraps(db.url);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("resolving a normalised email is served by an expression index on lower(btrim(email)) where one exists", async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query("SET enable_seqscan = off");
      const plan = (
        await c.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT id FROM customers WHERE ${identityEqualsSql("email", "$1", "normalized")}`, ["X@y.z"])
      ).rows
        .map((r) => r["QUERY PLAN"])
        .join("\n");
      expect(plan).toContain("customers_email_normalized");
    } finally {
      await c.end();
    }
  });
});
