import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "pg";
import { runInit } from "../../src/cli/commands/init";
import { checkDataMap } from "../../src/datamap/check";
import { DRAFT_IGNORE_REASON, DraftError, draftDataMap, parseSubjectArg } from "../../src/datamap/init";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMapInput } from "../../src/datamap/schema";
import { introspect, type SchemaInfo } from "../../src/stores/postgres/introspect";
import { createScratchDb, loadChinook, runSql, type ScratchDb } from "../helpers/db";

const ROOT = resolve(__dirname, "..", "..");

let db: ScratchDb;
let chinook: SchemaInfo;
let tmp: string;

type DraftStore = {
  url: string;
  schema: string;
  tables: Record<string, { action?: string; owner?: string; reason?: string; fields: Record<string, Record<string, unknown>> }>;
  ignore: Record<string, string>;
};
const storeOf = (draft: DataMapInput, name = "main") => draft.stores[name] as unknown as DraftStore;

async function schemaOf(name: string): Promise<SchemaInfo> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return await introspect(c, name);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createScratchDb("lethe_init");
  await loadChinook(db.url);
  chinook = await schemaOf("public");
  tmp = mkdtempSync(join(tmpdir(), "lethe-init-"));
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await db.drop();
});

describe("draftDataMap on Chinook", () => {
  it("declares owned tables for deletion and referenced tables with personal-looking columns for anonymization", () => {
    const draft = draftDataMap(chinook, { table: "customer", column: "customer_id" }, { url: "${CHINOOK_DATABASE_URL}" });
    expect(draft.$schema).toBe("./lethe.schema.json");
    expect(draft.version).toBe(1);
    // customer.email is not UNIQUE in Chinook, so it cannot be an identity; it is the contact for mail (issue 9, item 8).
    expect(draft.subject).toEqual({ store: "main", table: "customer", key: "customer_id", identities: {}, contact: { email: "email", country: "country" } });
    const store = storeOf(draft);
    expect(store.url).toBe("${CHINOOK_DATABASE_URL}");
    expect(store.schema).toBe("public");
    // Issue 9, item 11: the staff table is other people's data, catalogue tables are lookups (ignored with a reason).
    expect(Object.fromEntries(Object.entries(store.tables).map(([t, s]) => [t, s.action ?? `owner ${s.owner}`]))).toEqual({
      customer: "delete",
      invoice: "delete",
      invoice_line: "delete",
      employee: "owner others",
    });
    expect(store.tables.employee!.reason).toMatch(
      /^draft: other people's data \(.*email.*\), reached only through references from the subject's rows \(customer → employee\)/,
    );
    expect(Object.keys(store.ignore).sort()).toEqual(["album", "artist", "genre", "media_type", "track"]);
    expect(store.ignore.artist).toBe('draft: lookup data: "name" only labels the row, the same for everyone, and no person\'s row depends on it — confirm');
    expect(store.ignore.album).toBe(DRAFT_IGNORE_REASON);
    // playlist and playlist_track are not reachable from a customer.
    expect(store.tables.playlist).toBeUndefined();
    expect(store.tables.playlist_track).toBeUndefined();
  });

  it("writes todos in words for personal-looking columns and marks the subject key and FK columns as keys (item 11)", () => {
    const store = storeOf(draftDataMap(chinook, { table: "customer", column: "customer_id" }, { url: "x" }));
    const customer = store.tables.customer!.fields;
    expect(customer.customer_id).toEqual({ personal: false, note: "key" });
    expect(customer.support_rep_id).toEqual({ personal: false, note: "key" });
    const todos = Object.entries(customer)
      .filter(([, f]) => "todo" in f)
      .map(([c]) => c);
    expect(todos).toEqual(["first_name", "last_name", "company", "address", "city", "state", "country", "postal_code", "phone", "fax", "email"]);
    expect(customer.email!.todo).toBe(
      'the name "email" suggests an email address; decide: give it a category and a mask (suggested: category "contact", mask "email"), or {"personal": false}',
    );
    const texts = Object.values(store.tables).flatMap((t) => Object.values(t.fields ?? {}).flatMap((f) => (typeof f.todo === "string" ? [f.todo] : [])));
    expect(texts.filter((t) => /[|^$\\]/.test(t))).toEqual([]);
    expect(store.tables.invoice!.fields).toEqual({
      customer_id: { personal: false, note: "key" },
      billing_address: { todo: expect.any(String) },
      billing_city: { todo: expect.any(String) },
      billing_state: { todo: expect.any(String) },
      billing_country: { todo: expect.any(String) },
      billing_postal_code: { todo: expect.any(String) },
    });
    expect(store.tables.invoice_line!.fields).toEqual({ invoice_id: { personal: false, note: "key" }, track_id: { personal: false, note: "key" } });
    // Other people's tables need no field decisions.
    expect(store.tables.employee!.fields).toBeUndefined();
    // Not personal-looking, not a key: left out.
    expect(store.tables.invoice!.fields.total).toBeUndefined();
  });

  it("is a valid data map that lethe check refuses, only for undecided columns", async () => {
    const draft = draftDataMap(chinook, { table: "customer", column: "customer_id" }, { url: "${CHINOOK_DATABASE_URL}" });
    const map = parseDataMap(draft, "draft.json", { CHINOOK_DATABASE_URL: db.url });
    const problems = await checkDataMap(map);
    const todoCount = Object.values(storeOf(draft).tables).reduce((n, t) => n + Object.values(t.fields ?? {}).filter((f) => "todo" in f).length, 0);
    expect(todoCount).toBe(16);
    expect(problems).toHaveLength(todoCount);
    expect(new Set(problems.map((p) => p.rule))).toEqual(new Set(["undecided-personal-column"]));
    expect(problems).toContainEqual({
      key: "stores.main.tables.customer.fields.email",
      rule: "undecided-personal-column",
      message: expect.stringContaining("suggests an email address"),
    });
  });

  it("refuses an unknown subject table or column", () => {
    expect(() => draftDataMap(chinook, { table: "clients", column: "id" }, { url: "x" })).toThrow(
      new DraftError('subject table "public.clients" does not exist'),
    );
    expect(() => draftDataMap(chinook, { table: "customer", column: "id" }, { url: "x" })).toThrow('subject key column "customer.id" does not exist');
  });
});

describe("draftDataMap on a small shop", () => {
  it("ignores referenced tables with nothing personal, and takes unique email columns as identities", async () => {
    await runSql(
      db.url,
      `CREATE SCHEMA shop;
       CREATE TABLE shop.currencies (code char(3) PRIMARY KEY, decimals int);
       CREATE TABLE shop.addresses (id int PRIMARY KEY, street text, city text);
       CREATE TABLE shop.users (id int PRIMARY KEY, email text UNIQUE NOT NULL, backup_email text,
                                address_id int REFERENCES shop.addresses(id), currency_code char(3) REFERENCES shop.currencies(code), plan text);
       CREATE TABLE shop.orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES shop.users(id), total numeric);
       CREATE TABLE shop.warehouses (id int PRIMARY KEY, address_id int REFERENCES shop.addresses(id));`,
    );
    const draft = draftDataMap(await schemaOf("shop"), { table: "users", column: "id" }, { store: "shop", url: "postgres://app@db/shop" });
    expect(draft.subject).toEqual({ store: "shop", table: "users", key: "id", identities: { email: "email" }, contact: { email: "email" } });
    const store = storeOf(draft, "shop");
    expect(store.url).toBe("postgres://app@db/shop");
    expect(store.schema).toBe("shop");
    expect(Object.keys(store.tables)).toEqual(["users", "addresses", "orders"]);
    expect(store.tables.addresses!.action).toBe("anonymize");
    expect(store.tables.addresses!.owner).toBe("subject");
    expect(store.tables.orders!.action).toBe("delete");
    expect(store.ignore).toEqual({ currencies: DRAFT_IGNORE_REASON });
    expect(store.tables.users!.fields).toEqual({
      id: { personal: false, note: "key" },
      email: { todo: expect.stringContaining("suggests an email address") },
      backup_email: { todo: expect.stringContaining("suggests an email address") },
      address_id: { personal: false, note: "key" },
      currency_code: { personal: false, note: "key" },
    });
    // warehouses use the same addresses but are not the subject's.
    expect(store.tables.warehouses).toBeUndefined();
    expect(store.ignore.warehouses).toBeUndefined();
  });
});

describe("the committed Chinook map", () => {
  it("decides every column the draft left as a todo, or ignores its table", () => {
    const draft = storeOf(draftDataMap(chinook, { table: "customer", column: "customer_id" }, { url: "x" }));
    const committed = storeOf(JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "chinook", "lethe.config.json"), "utf8")) as DataMapInput);
    expect(committed.url).toBe("${CHINOOK_DATABASE_URL}");
    for (const [table, spec] of Object.entries(draft.tables)) {
      if (committed.ignore[table] !== undefined) continue;
      for (const [column, field] of Object.entries(spec.fields)) {
        if (!("todo" in field)) continue;
        const decided = committed.tables[table]?.fields[column];
        expect({ table, column, decided: decided !== undefined && !("todo" in decided) }).toEqual({ table, column, decided: true });
      }
    }
    expect(Object.keys(committed.ignore).sort()).toEqual(["album", "artist", "employee", "genre", "media_type", "track"]);
    expect(committed.ignore.employee).toBe("staff records, not the customer's data");
  });
});

describe("parseSubjectArg", () => {
  it("splits table.column and rejects anything else", () => {
    expect(parseSubjectArg("customer.customer_id")).toEqual({ table: "customer", column: "customer_id" });
    expect(() => parseSubjectArg("customer")).toThrow(DraftError);
    expect(() => parseSubjectArg("a.b.c")).toThrow("--subject must be <table>.<column>");
  });
});

describe("lethe init", () => {
  const base = () => ({ fromDb: db.url, subject: "customer.customer_id", schema: "public", store: "main" });

  it("writes the URL as given, or ${VAR} with --url-env", async () => {
    const plain = join(tmp, "plain.json");
    expect(await runInit({ ...base(), out: plain })).toMatch(
      /^wrote .*plain\.json: 4 tables \(1 other people's\), 5 ignored, 0 links without a foreign key, 16 columns to decide/,
    );
    expect((JSON.parse(readFileSync(plain, "utf8")) as { stores: Record<string, { url: string }> }).stores.main!.url).toBe(db.url);
    const viaEnv = join(tmp, "env.json");
    await runInit({ ...base(), out: viaEnv, urlEnv: "CHINOOK_DATABASE_URL" });
    const text = readFileSync(viaEnv, "utf8");
    expect(text).not.toContain(db.url);
    expect((JSON.parse(text) as { stores: Record<string, { url: string }> }).stores.main!.url).toBe("${CHINOOK_DATABASE_URL}");
  });

  it("refuses to overwrite an existing file unless --force", async () => {
    const out = join(tmp, "existing.json");
    writeFileSync(out, "keep me");
    await expect(runInit({ ...base(), out })).rejects.toThrow("exists; pass --force to overwrite it");
    expect(readFileSync(out, "utf8")).toBe("keep me");
    await runInit({ ...base(), out, force: true });
    expect((JSON.parse(readFileSync(out, "utf8")) as DataMapInput).subject.table).toBe("customer");
  });

  it("refuses a schema with no tables", async () => {
    await expect(runInit({ ...base(), schema: "nothing_here", out: join(tmp, "none.json") })).rejects.toThrow('schema "nothing_here" has no tables');
  });

  it("runs from the command line", async () => {
    const out = join(tmp, "cli.json");
    const r = await new Promise<{ code: number | null; stdout: string }>((done, fail) => {
      const args = [
        "tsx",
        "workers/cli.ts",
        "init",
        "--from-db",
        db.url,
        "--subject",
        "customer.customer_id",
        "--out",
        out,
        "--url-env",
        "CHINOOK_DATABASE_URL",
      ];
      const child = spawn("npx", args, { cwd: ROOT });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.on("error", fail);
      child.on("close", (code) => done({ code, stdout }));
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("16 columns to decide");
    const written = JSON.parse(readFileSync(out, "utf8")) as DataMapInput;
    expect(written).toEqual(draftDataMap(chinook, { table: "customer", column: "customer_id" }, { url: "${CHINOOK_DATABASE_URL}" }));
  });
});
