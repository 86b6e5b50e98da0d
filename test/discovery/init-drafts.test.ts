import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInit } from "../../src/cli/commands/init";
import { checkDataMap, isError } from "../../src/datamap/check";
import { parseDataMap } from "../../src/datamap/load";
import type { ColumnInfo } from "../../src/stores/postgres/introspect";
import { looksPersonal } from "../../src/stores/postgres/personal";
import { loadTraps } from "../fixtures/traps/seed";
import { createScratchDb, type ScratchDb } from "../helpers/db";

/** Issue 9, item 11: `lethe init` drafts what a careful engineer would. */

type DraftTable = { action?: string; owner?: string; reason?: string; fields?: Record<string, { todo?: string; personal?: false }>; via?: unknown[] };
type Draft = { subject: Record<string, unknown>; stores: { main: { tables: Record<string, DraftTable>; ignore: Record<string, string> } } };

const column = (name: string, sqlType = "text", family: ColumnInfo["family"] = "text"): ColumnInfo => ({
  name,
  sqlType,
  family,
  isNullable: true,
  isUnique: false,
  isUniqueNormalized: false,
  maxLength: null,
});

describe("what lethe init recognises", () => {
  it("address parts, recipients, images and binary data, usernames, passwords and secrets; in words", () => {
    const flagged = [
      "district",
      "region",
      "state",
      "province",
      "county",
      "ship_name",
      "ship_address",
      "recipient",
      "picture",
      "photo",
      "avatar",
      "username",
      "login",
      "password_hash",
      "api_key",
      "secret",
      "reset_token",
      "ip_address",
    ];
    for (const name of flagged) expect({ name, hint: looksPersonal(column(name)) !== null }).toEqual({ name, hint: true });
    expect(looksPersonal(column("scan", "bytea", "bytea"))?.reason).toBe("it is binary data (bytea), which may hold a photo or a document");
    expect(looksPersonal(column("ip_address"))?.category).toBe("online");
    expect(looksPersonal(column("ship_name"))?.reason).toBe(`the name "ship_name" suggests a person's name`);
    // Lookup labels and things that only look like words for people are left alone.
    for (const name of ["title", "capacity", "velocity", "sort_position"]) expect({ name, hint: looksPersonal(column(name)) }).toEqual({ name, hint: null });
  });
});

describe("lethe init on the trap shop", () => {
  let db: ScratchDb;
  let dir: string;
  let draft: Draft;
  let summary = "";

  beforeAll(async () => {
    db = await createScratchDb("lethe_traps_init");
    await loadTraps(db.url);
    dir = mkdtempSync(join(tmpdir(), "lethe-init-traps-"));
    const out = join(dir, "draft.json");
    summary = await runInit({ fromDb: db.url, subject: "customers.id", schema: "public", store: "main", out, urlEnv: "TRAPS_DATABASE_URL" });
    draft = JSON.parse(readFileSync(out, "utf8")) as Draft;
  });

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("drafts a via for every link without a foreign key: by name and by the subject's email values", () => {
    expect(summary).toMatch(/tables \(1 other people's\), \d+ ignored, 4 links without a foreign key, \d+ columns to decide/);
    const t = draft.stores.main.tables;
    expect(t.reviews?.via).toEqual([{ column: "customer_id", references: { table: "customers", column: "id" } }]);
    expect(t.page_views?.via).toEqual([{ column: "customerId", references: { table: "customers", column: "id" } }]);
    expect(t.support_tickets?.via).toEqual([{ column: "customer_email", references: { table: "customers", column: "email" } }]);
    expect(t.newsletter_signups?.via).toEqual([{ column: "email", references: { table: "customers", column: "email" } }]);
  });

  it("drafts address parts and the recipient of an order; never a key column; todos in words", () => {
    const t = draft.stores.main.tables;
    expect(Object.keys(t.addresses!.fields!).filter((c) => t.addresses!.fields![c]!.todo)).toEqual(["address", "address2", "district", "postal_code", "phone"]);
    expect(t.addresses).toMatchObject({ action: "anonymize", owner: "subject" });
    expect(Object.keys(t.orders!.fields!).filter((c) => t.orders!.fields![c]!.todo)).toEqual([
      "ship_name",
      "ship_address",
      "ship_city",
      "ship_region",
      "ship_postal_code",
      "ship_country",
    ]);
    for (const [table, spec] of Object.entries(t)) {
      for (const [col, field] of Object.entries(spec.fields ?? {})) {
        if (field.todo === undefined) continue;
        expect({ table, col, key: /(^id$|_id$|Id$)/.test(col) }).toEqual({ table, col, key: false });
        expect(field.todo).not.toMatch(/[|^$\\[\]]/);
      }
    }
  });

  it("declares other people's tables as such and lookup tables as ignored, with reasons; only the partitioned parent", () => {
    const t = draft.stores.main.tables;
    expect(t.employees).toEqual({
      owner: "others",
      reason: expect.stringMatching(/^draft: other people's data \(.*email.*\), reached only through references/),
    });
    const ignore = draft.stores.main.ignore;
    for (const lookup of ["cities", "countries", "languages"]) expect(ignore[lookup]).toMatch(/^draft: lookup data: /);
    expect(Object.keys(t).filter((n) => n.startsWith("payments"))).toEqual(["payments"]);
    expect(draft.subject).toEqual({
      store: "main",
      table: "customers",
      key: "id",
      identities: { email: "email" },
      contact: { email: "email", locale: "locale" },
    });
  });

  it("passes check's reachability and link rules: what remains are the columns to decide", async () => {
    const problems = (await checkDataMap(parseDataMap(draft, "draft.json", { TRAPS_DATABASE_URL: db.url }))).filter(isError);
    expect(problems.length).toBeGreaterThan(0);
    expect([...new Set(problems.map((p) => p.rule))]).toEqual(["undecided-personal-column"]);
  });
});
