import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Pool } from "pg";
import { assertDataMapReady, checkDataMap, formatProblems, type CheckProblem } from "../../src/datamap/check";
import { DataMapError, loadDataMap, parseDataMap } from "../../src/datamap/load";
import type { DataMapInput } from "../../src/datamap/schema";
import { createScratchDb, loadChinook, PG_BASE, runSql, type ScratchDb } from "../helpers/db";

const ROOT = resolve(__dirname, "..", "..");
const CHINOOK_MAP = join(ROOT, "test", "fixtures", "chinook", "lethe.config.json");

let db: ScratchDb;
let tmp: string;

/** A small shop: users ← orders ← order_items, and tickets linked to users only by a `via`. */
const SHOP_SQL = (s: string, opts: { orderUserNullable?: boolean } = {}) => `
  CREATE SCHEMA ${s};
  CREATE TABLE ${s}.users (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, full_name text, plan text);
  CREATE TABLE ${s}.orders (id int PRIMARY KEY, user_id int ${opts.orderUserNullable ? "" : "NOT NULL"} REFERENCES ${s}.users(id),
                            total numeric NOT NULL, billing_email varchar(20), ordered_at date NOT NULL);
  CREATE TABLE ${s}.order_items (id int PRIMARY KEY, order_id int NOT NULL REFERENCES ${s}.orders(id), sku text);
  CREATE TABLE ${s}.tickets (id int PRIMARY KEY, user_ref int, body text);
`;

/** A data map as a test edits it before parsing. */
interface ShopMap {
  version: 1;
  subject: { store: string; table: string; key: string; identities: Record<string, string> };
  stores: { main: { kind: "postgres"; url: string; schema: string; tables: Record<string, Record<string, unknown>>; ignore: Record<string, string> } };
}

/** A map of the shop that passes every rule. */
function shopMap(schema: string, url = db.url): ShopMap {
  return {
    version: 1,
    subject: { store: "main", table: "users", key: "id", identities: { email: "email" } },
    stores: {
      main: {
        kind: "postgres",
        url,
        schema,
        tables: {
          users: { action: "delete", fields: { email: { category: "contact", mask: "email" }, full_name: { category: "identity", mask: "token" } } },
          orders: { action: "delete", fields: { billing_email: { category: "contact", mask: "null" } } },
          order_items: { action: "delete" },
          tickets: { action: "delete", via: [{ column: "user_ref", references: { table: "users", column: "id" } }] },
        },
        ignore: {},
      },
    },
  };
}

async function check(raw: unknown): Promise<CheckProblem[]> {
  return checkDataMap(parseDataMap(raw));
}

function only(problems: CheckProblem[], rule: string): CheckProblem[] {
  return problems.filter((p) => p.rule === rule);
}

beforeAll(async () => {
  db = await createScratchDb("lethe_check");
  await loadChinook(db.url);
  tmp = mkdtempSync(join(tmpdir(), "lethe-check-"));
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await db.drop();
});

describe("checkDataMap", () => {
  it("finds nothing wrong with a map that matches its schema", async () => {
    await runSql(db.url, SHOP_SQL("ok_shop"));
    expect(await check(shopMap("ok_shop"))).toEqual([]);
  });

  it("store-unreachable: names the error code, never the URL or its password", async () => {
    const missingDb = shopMap("public", `${PG_BASE}/lethe_no_such_db_4f2a`);
    const refused = shopMap("public", "postgres://app:s3cr3t-pw@127.0.0.1:1/shop");
    const [a] = await check(missingDb);
    expect(a).toEqual({ key: "stores.main.url", rule: "store-unreachable", message: expect.stringContaining("3D000") });
    expect(a!.message).not.toContain("lethe_no_such_db_4f2a");
    const [b] = await check(refused);
    expect(b).toEqual({ key: "stores.main.url", rule: "store-unreachable", message: expect.stringContaining("ECONNREFUSED") });
    expect(b!.message).not.toMatch(/s3cr3t|app:|127\.0\.0\.1/);
  });

  it("missing-schema: a schema that is not in the database", async () => {
    expect(await check(shopMap("no_such_schema"))).toEqual([
      { key: "stores.main.schema", rule: "missing-schema", message: expect.stringContaining('"no_such_schema" does not exist') },
    ]);
  });

  it("missing-table: a declared or ignored table that does not exist", async () => {
    await runSql(db.url, SHOP_SQL("mt_shop"));
    const map = shopMap("mt_shop");
    map.stores.main.tables.ghosts = { action: "delete" };
    map.stores.main.ignore.phantoms = "no personal data";
    const problems = await check(map);
    expect(problems).toEqual([
      { key: "stores.main.tables.ghosts", rule: "missing-table", message: 'table "mt_shop.ghosts" does not exist' },
      { key: "stores.main.ignore.phantoms", rule: "missing-table", message: expect.stringContaining('"mt_shop.phantoms" does not exist') },
    ]);
  });

  it("missing-column: fields, subject key, identities, via column and via target column", async () => {
    await runSql(db.url, SHOP_SQL("mc_shop"));
    const map = shopMap("mc_shop");
    map.subject.key = "user_id";
    map.subject.identities = { email: "email", phone: "phone" };
    map.stores.main.tables.orders!.fields = { billing_email: { category: "contact", mask: "null" }, shipping_note: { personal: false } };
    map.stores.main.tables.tickets!.via = [{ column: "owner_id", references: { table: "users", column: "uid" } }];
    const missing = only(await check(map), "missing-column");
    expect(missing.map((p) => p.key).sort()).toEqual(
      [
        "subject.key",
        "subject.identities.phone",
        "stores.main.tables.orders.fields.shipping_note",
        "stores.main.tables.tickets.via.0.column",
        "stores.main.tables.tickets.via.0.references.column",
      ].sort(),
    );
    const byKey = new Map(missing.map((p) => [p.key, p.message]));
    expect(byKey.get("subject.key")).toBe('subject key column "users.user_id" does not exist');
    expect(byKey.get("subject.identities.phone")).toContain('"users.phone"');
    expect(byKey.get("stores.main.tables.orders.fields.shipping_note")).toBe('column "orders.shipping_note" does not exist');
    expect(byKey.get("stores.main.tables.tickets.via.0.column")).toContain('"tickets.owner_id"');
    expect(byKey.get("stores.main.tables.tickets.via.0.references.column")).toContain('"users.uid"');
  });

  it("undeclared-reachable-table: names the FK path and says to declare or ignore; ignoring with a reason clears it", async () => {
    await runSql(db.url, SHOP_SQL("ur_shop"));
    await runSql(db.url, "CREATE TABLE ur_shop.order_flags (order_id int NOT NULL REFERENCES ur_shop.orders(id) ON DELETE CASCADE, flag text)");
    const map = shopMap("ur_shop");
    const problems = await check(map);
    expect(problems).toEqual([
      { key: "stores.main.tables.order_flags", rule: "undeclared-reachable-table", message: expect.stringContaining("users → orders → order_flags") },
    ]);
    expect(problems[0]!.message).toMatch(/declare it in stores\.main\.tables .*, or add it to stores\.main\.ignore with the reason/);
    map.stores.main.ignore.order_flags = "internal workflow flags, no personal data";
    expect(await check(map)).toEqual([]);
  });

  it("unreachable-table: a declared table with no FK path and no via", async () => {
    await runSql(db.url, SHOP_SQL("un_shop"));
    const map = shopMap("un_shop");
    map.stores.main.tables.tickets = { action: "delete" };
    expect(await check(map)).toEqual([{ key: "stores.main.tables.tickets", rule: "unreachable-table", message: expect.stringContaining('add a "via"') }]);
  });

  it("undecided-personal-column: an undeclared personal-looking column (with the hint's reason) and a todo entry", async () => {
    await runSql(db.url, SHOP_SQL("ud_shop"));
    const map = shopMap("ud_shop");
    map.stores.main.tables.users!.fields = { email: { category: "contact", mask: "email" } };
    map.stores.main.tables.orders!.fields = { billing_email: { todo: "decide the billing email" } };
    const problems = await check(map);
    expect(problems).toEqual([
      {
        key: "stores.main.tables.users.fields.full_name",
        rule: "undecided-personal-column",
        message: expect.stringContaining(`the name "full_name" suggests a person's name`),
      },
      {
        key: "stores.main.tables.orders.fields.billing_email",
        rule: "undecided-personal-column",
        message: expect.stringContaining("decide the billing email"),
      },
    ]);
    expect(problems[0]!.message).toContain('{"personal": false}');
    // `plan` and `total` do not look personal and need no declaration; declaring not-personal settles a column.
    map.stores.main.tables.users!.fields = { email: { category: "contact", mask: "email" }, full_name: { personal: false, note: "a display label" } };
    map.stores.main.tables.orders!.fields = { billing_email: { category: "contact", mask: "null" } };
    expect(await check(map)).toEqual([]);
  });

  it("mask-misfit: length, NOT NULL and type", async () => {
    await runSql(db.url, SHOP_SQL("mm_shop"));
    const map = shopMap("mm_shop");
    map.stores.main.tables.users = {
      action: "anonymize",
      fields: { email: { category: "contact", mask: "null" }, full_name: { category: "identity", mask: "token" } },
    };
    map.stores.main.tables.orders = {
      action: "anonymize",
      fields: { billing_email: { category: "contact", mask: "email" }, ordered_at: { category: "other", mask: "token" } },
    };
    const problems = await check(map);
    expect(problems).toEqual([
      { key: "stores.main.tables.users.fields.email.mask", rule: "mask-misfit", message: expect.stringContaining("NOT NULL") },
      { key: "stores.main.tables.orders.fields.billing_email.mask", rule: "mask-misfit", message: expect.stringContaining("character varying(20)") },
      { key: "stores.main.tables.orders.fields.ordered_at.mask", rule: "mask-misfit", message: expect.stringContaining('mask "token" needs a text column') },
    ]);
    expect(problems[1]!.message).toContain('column "orders.billing_email"');
  });

  it("subject-key-not-unique and identity-not-unique", async () => {
    await runSql(db.url, `CREATE SCHEMA nu; CREATE TABLE nu.people (pid int NOT NULL, email text, nickname text, login text UNIQUE);`);
    const map: DataMapInput = {
      version: 1,
      subject: { store: "main", table: "people", key: "pid", identities: { email: "email", login: "login" } },
      stores: {
        main: {
          kind: "postgres",
          url: db.url,
          schema: "nu",
          tables: { people: { action: "delete", fields: { email: { category: "contact" }, nickname: { personal: false }, login: { category: "online" } } } },
        },
      },
    };
    expect(await check(map)).toEqual([
      { key: "subject.key", rule: "subject-key-not-unique", message: expect.stringContaining('"people.pid" is not a primary key or UNIQUE') },
      { key: "subject.identities.email", rule: "identity-not-unique", message: expect.stringContaining('"people.email" is not unique') },
    ]);
  });

  it("orphaning-delete: a deleted table referenced NOT NULL from a kept table; a nullable FK is fine", async () => {
    await runSql(db.url, SHOP_SQL("od_shop"));
    await runSql(db.url, SHOP_SQL("od_nullable", { orderUserNullable: true }));
    const map = shopMap("od_shop");
    map.stores.main.tables.orders = { action: "keep", ground: "tax records", fields: { billing_email: { category: "contact", mask: "null" } } };
    map.stores.main.tables.order_items = { action: "keep", ground: "tax records" };
    expect(await check(map)).toEqual([
      { key: "stores.main.tables.users.action", rule: "orphaning-delete", message: expect.stringContaining('"orders.user_id"') },
    ]);
    const [p] = await check(map);
    expect(p!.message).toMatch(/table "orders" \(action keep\)/);
    expect(p!.message).toContain('use action "anonymize" for "users"');

    const nullable = shopMap("od_nullable");
    nullable.stores.main.tables.orders = map.stores.main.tables.orders;
    nullable.stores.main.tables.order_items = map.stores.main.tables.order_items;
    expect(await check(nullable)).toEqual([]);
  });

  it("orphaning-delete: an ignored table whose foreign key blocks the delete; ON DELETE CASCADE is fine", async () => {
    await runSql(db.url, SHOP_SQL("oi_shop"));
    await runSql(db.url, "CREATE TABLE oi_shop.order_flags (order_id int NOT NULL REFERENCES oi_shop.orders(id) ON DELETE CASCADE, flag text)");
    const map = shopMap("oi_shop");
    delete map.stores.main.tables.order_items;
    map.stores.main.ignore.order_items = "product codes only";
    map.stores.main.ignore.order_flags = "workflow flags only";
    expect(await check(map)).toEqual([
      {
        key: "stores.main.tables.orders.action",
        rule: "orphaning-delete",
        message: expect.stringContaining('ignored table "order_items" references them through "order_items.order_id"'),
      },
    ]);
    const [p] = await check(map);
    expect(p!.message).toContain("ON DELETE NO ACTION");
    expect(p!.message).toContain('declare "order_items" instead of ignoring it');
  });

  it("lists every problem at once", async () => {
    await runSql(db.url, SHOP_SQL("all_shop"));
    const map = shopMap("all_shop");
    delete map.stores.main.tables.order_items;
    map.stores.main.tables.ghosts = { action: "delete" };
    map.subject.identities = { email: "email", handle: "handle" };
    map.stores.main.tables.users!.fields = { email: { category: "contact", mask: "email" }, full_name: { todo: "decide" } };
    map.stores.main.tables.orders!.fields = { billing_email: { category: "contact", mask: "email" } };
    map.stores.main.tables.tickets = { action: "delete" };
    const problems = await check(map);
    expect(problems.map((p) => `${p.rule} ${p.key}`).sort()).toEqual(
      [
        "missing-table stores.main.tables.ghosts",
        "missing-column subject.identities.handle",
        "undecided-personal-column stores.main.tables.users.fields.full_name",
        "mask-misfit stores.main.tables.orders.fields.billing_email.mask",
        "undeclared-reachable-table stores.main.tables.order_items",
        "unreachable-table stores.main.tables.tickets",
      ].sort(),
    );
  });

  it("reports an unreachable store and still checks the others", async () => {
    await runSql(db.url, SHOP_SQL("two_shop"));
    const map = shopMap("two_shop");
    (map.stores as Record<string, unknown>).crm = { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/crm", tables: { contacts: { action: "delete" } } };
    const problems = await check(map);
    expect(problems).toEqual([{ key: "stores.crm.url", rule: "store-unreachable", message: expect.stringContaining("ECONNREFUSED") }]);
  });

  it("uses the given connect function and closes what it returns", async () => {
    await runSql(db.url, SHOP_SQL("cx_shop"));
    const pools: Pool[] = [];
    const problems = await checkDataMap(parseDataMap(shopMap("cx_shop")), {
      connect: async (url) => {
        const pool = new Pool({ connectionString: url, max: 1 });
        pools.push(pool);
        return pool;
      },
    });
    expect(problems).toEqual([]);
    expect(pools).toHaveLength(1);
    expect(pools[0]!.ended).toBe(true);
  });

  it("passes the committed Chinook map against a fresh Chinook", async () => {
    const map = loadDataMap(CHINOOK_MAP, { CHINOOK_DATABASE_URL: db.url });
    expect(await checkDataMap(map)).toEqual([]);
    const main = map.stores.main!;
    if (main.kind !== "postgres") throw new Error("the Chinook store is a postgres store");
    expect(main.tables.customer!.action).toBe("anonymize");
    expect(main.tables.invoice!.action).toBe("keep");
  });

  it("refuses the Chinook map when invoices are deleted but their lines kept", async () => {
    const raw = JSON.parse(readFileSync(CHINOOK_MAP, "utf8")) as { stores: { main: { tables: Record<string, { action: string }> } } };
    raw.stores.main.tables.invoice!.action = "delete";
    const problems = await checkDataMap(parseDataMap(raw, CHINOOK_MAP, { CHINOOK_DATABASE_URL: db.url }));
    expect(problems).toEqual([
      { key: "stores.main.tables.invoice.action", rule: "orphaning-delete", message: expect.stringContaining('"invoice_line.invoice_id"') },
    ]);
  });
});

describe("formatProblems and assertDataMapReady", () => {
  it("formats one line per problem", () => {
    expect(formatProblems("lethe.config.json", [{ key: "stores.a.tables.b", rule: "missing-table", message: "gone" }])).toEqual([
      "lethe.config.json: stores.a.tables.b: [missing-table] gone",
    ]);
  });

  it("throws a DataMapError listing every problem, and resolves when the map is ready", async () => {
    await runSql(db.url, SHOP_SQL("as_shop"));
    const map = shopMap("as_shop");
    delete map.stores.main.tables.order_items;
    map.stores.main.tables.ghosts = { action: "delete" };
    const err = await assertDataMapReady(parseDataMap(map), "shop.json").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataMapError);
    expect((err as DataMapError).file).toBe("shop.json");
    expect((err as DataMapError).problems.sort()).toEqual([
      expect.stringMatching(/^stores\.main\.tables\.ghosts: \[missing-table\] /),
      expect.stringMatching(/^stores\.main\.tables\.order_items: \[undeclared-reachable-table\] /),
    ]);
    await expect(assertDataMapReady(parseDataMap(shopMap("as_shop")), "shop.json")).resolves.toEqual([]);
  });
});

describe("lethe check (CLI)", () => {
  function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, fail) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env };
      delete childEnv.LETHE_DATA_MAP;
      Object.assign(childEnv, env);
      const child = spawn("npx", ["tsx", "workers/cli.ts", "check", ...args], { cwd: ROOT, env: childEnv });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", fail);
      child.on("close", (code) => done({ code, stdout, stderr }));
    });
  }

  it("exits 0 with a one-line summary when the map checks clean", async () => {
    const r = await run(["--map", CHINOOK_MAP], { CHINOOK_DATABASE_URL: db.url });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`${CHINOOK_MAP}: OK (main: 3 tables, 6 ignored)`);
    expect(r.code).toBe(0);
  });

  it("exits 1 and prints every problem, and takes the path from LETHE_DATA_MAP", async () => {
    const raw = JSON.parse(readFileSync(CHINOOK_MAP, "utf8")) as { stores: { main: { tables: Record<string, unknown>; ignore: Record<string, string> } } };
    delete raw.stores.main.ignore.employee;
    delete raw.stores.main.tables.invoice_line;
    const file = join(tmp, "broken.json");
    writeFileSync(file, JSON.stringify(raw));
    const r = await run([], { CHINOOK_DATABASE_URL: db.url, LETHE_DATA_MAP: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: stores.main.tables.employee: [undeclared-reachable-table] `);
    expect(r.stderr).toContain(`${file}: stores.main.tables.invoice_line: [undeclared-reachable-table] `);
    expect(r.stderr).toContain("2 problems");
    expect(r.stdout).toBe("");
  });

  it("exits 1 on a data map that does not load", async () => {
    const r = await run(["--map", CHINOOK_MAP], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${CHINOOK_MAP}: stores.main.url: environment variable CHINOOK_DATABASE_URL is not set`);
  });
});
