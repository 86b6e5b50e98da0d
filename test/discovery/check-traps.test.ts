import { Client } from "pg";
import { checkDataMap, isError, type CheckProblem } from "../../src/datamap/check";
import { draftDataMap } from "../../src/datamap/init";
import { introspect } from "../../src/stores/postgres/introspect";
import { loadTraps } from "../fixtures/traps/seed";
import { createScratchDb, type ScratchDb } from "../helpers/db";
import { trapsMap } from "./traps";

/** `lethe check` on the trap shop (issue 9): the rules that make discovery complete or fail loudly. */
let db: ScratchDb;

beforeAll(async () => {
  db = await createScratchDb("lethe_traps_check");
  await loadTraps(db.url);
});

afterAll(async () => {
  await db?.drop();
});

const errors = (problems: CheckProblem[]) => problems.filter(isError);
const rules = (problems: CheckProblem[]) => problems.map((p) => `${p.rule} ${p.key}`).sort();

describe("check on the trap shop", () => {
  it("passes the trap map; partitions that declare different foreign keys are reported as warnings (item 1)", async () => {
    const problems = await checkDataMap(trapsMap(db.url));
    expect(errors(problems)).toEqual([]);
    expect(problems).toEqual([
      {
        key: "stores.shop.tables.payments",
        rule: "partition-constraints-differ",
        severity: "warning",
        message: expect.stringContaining("payments(customer_id) → customers is declared on payments_2024_01, payments_2024_02 but not on payments_2024_03"),
      },
      {
        key: "stores.shop.tables.payments",
        rule: "partition-constraints-differ",
        severity: "warning",
        message: expect.stringContaining("payments(order_id) → orders is declared on payments_2024_01 but not on payments_2024_02, payments_2024_03"),
      },
    ]);
  });

  it("item 1: refuses a partition listed on its own (declared or ignored), naming its parent", async () => {
    const problems = await checkDataMap(
      trapsMap(db.url, (raw) => {
        raw.stores.shop.tables.payments_2024_03 = { action: "delete" };
        raw.stores.shop.ignore = { ...raw.stores.shop.ignore, payments_2024_01: "old month" };
      }),
    );
    expect(rules(errors(problems))).toEqual(["partition-listed stores.shop.ignore.payments_2024_01", "partition-listed stores.shop.tables.payments_2024_03"]);
    expect(errors(problems)[0]!.message).toContain('declare the parent "payments" only');
  });

  it("item 1: introspection and init see the partitioned table as one table, the parent, with every partition's foreign keys", async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    let schema: Awaited<ReturnType<typeof introspect>>;
    try {
      schema = await introspect(c, "public");
    } finally {
      await c.end();
    }
    expect(schema.tables.get("payments")!.children).toEqual(["payments_2024_01", "payments_2024_02", "payments_2024_03"]);
    expect([...schema.tables.keys()].filter((t) => t.startsWith("payments"))).toEqual(["payments"]);
    expect(schema.foreignKeys.filter((fk) => fk.from.table === "payments").map((fk) => [fk.to.table, fk.declaredOn])).toEqual([
      ["customers", ["payments_2024_01", "payments_2024_02"]],
      ["orders", ["payments_2024_01"]],
    ]);
    const draft = draftDataMap(schema, { table: "customers", column: "id" }, { url: "x" });
    const tables = Object.keys(draft.stores.main!.tables);
    expect(tables).toContain("payments");
    expect(tables.filter((t) => t.startsWith("payments_"))).toEqual([]);
  });

  it("item 2: fails closed on links without a foreign key — by name (<table>_id, <table>Id) and by the subject's email values — until declared or dismissed", async () => {
    const map = trapsMap(db.url, (raw) => {
      for (const t of ["reviews", "page_views", "support_tickets", "newsletter_signups"]) delete raw.stores.shop.tables[t]!.via;
      // reviews is not even declared: the rule covers every table of the store.
      delete raw.stores.shop.tables.reviews;
    });
    const problems = errors(await checkDataMap(map));
    const unlinked = problems.filter((p) => p.rule === "unlinked-reference");
    expect(unlinked.map((p) => p.key).sort()).toEqual([
      "stores.shop.tables.newsletter_signups.via",
      "stores.shop.tables.page_views.via",
      "stores.shop.tables.reviews.via",
      "stores.shop.tables.support_tickets.via",
    ]);
    expect(unlinked.find((p) => p.key.includes("page_views"))!.message).toContain(
      'column "page_views.customerId" is named like a reference to "customers.id" but has no foreign key; declare the link in stores.shop.tables.page_views.via ({"column":"customerId","references":{"table":"customers","column":"id"}})',
    );
    expect(unlinked.find((p) => p.key.includes("support_tickets"))!.message).toContain(
      `column "support_tickets.customer_email" holds values of the subject's identity "email" (a sample of its rows overlaps "customers.email") but is not linked`,
    );
    // Names and counts only: no value of the sample in any message.
    for (const p of problems) expect(p.message).not.toMatch(/@example\.(com|org)/i);

    // Dismissing with a reason clears one; declaring the link clears another.
    const fixed = trapsMap(db.url, (raw) => {
      for (const t of ["support_tickets", "newsletter_signups"]) delete raw.stores.shop.tables[t]!.via;
      raw.stores.shop.notLinks = { "newsletter_signups.email": "test: pretend the signups are not the customers'" };
      raw.stores.shop.tables.support_tickets!.via = [{ column: "customer_email", references: { table: "customers", column: "email" } }];
      delete raw.stores.shop.tables.newsletter_signups;
    });
    expect(errors(await checkDataMap(fixed))).toEqual([]);
  });

  it("item 13: refuses anonymize on a table reached only through the subject's outgoing references unless its owner is declared", async () => {
    const anonymized = (owner?: "subject") =>
      trapsMap(db.url, (raw) => {
        // Addresses anonymized, not deleted: a kept or anonymized employee pointing at a deleted address would be an orphan (another rule).
        raw.stores.shop.tables.addresses!.action = "anonymize";
        raw.stores.shop.tables.employees = {
          action: "anonymize",
          ...(owner ? { owner } : {}),
          fields: {
            first_name: { category: "identity", mask: "token" },
            last_name: { category: "identity", mask: "token" },
            email: { category: "contact", mask: "email" },
            username: { personal: false },
            password_hash: { personal: false },
            picture: { personal: false },
          },
        };
      });
    const problems = errors(await checkDataMap(anonymized()));
    expect(rules(problems)).toEqual(["owner-undeclared stores.shop.tables.employees.owner"]);
    expect(problems[0]!.message).toContain("customers → orders → employees");
    expect(problems[0]!.message).toContain('Declare "owner": "others"');
    // Declared the subject's (the engineer's explicit choice): accepted.
    expect(errors(await checkDataMap(anonymized("subject")))).toEqual([]);
  });

  it("item 6: warns when a kept table reached only through references would put someone else's personal fields in an export", async () => {
    const problems = await checkDataMap(
      trapsMap(db.url, (raw) => {
        raw.stores.shop.tables.addresses!.action = "anonymize";
        raw.stores.shop.tables.employees = {
          action: "keep",
          ground: "staff records",
          fields: {
            first_name: { category: "identity", retain: true },
            last_name: { category: "identity", retain: true },
            email: { category: "contact", retain: true },
            username: { category: "online", retain: true },
            password_hash: { category: "online", retain: true },
            picture: { category: "identity", retain: true },
          },
        };
      }),
    );
    expect(errors(problems)).toEqual([]);
    const warning = problems.find((p) => p.rule === "export-includes-others");
    expect(warning).toEqual({
      key: "stores.shop.tables.employees",
      rule: "export-includes-others",
      severity: "warning",
      message: expect.stringContaining("an export would include its personal fields (first_name, last_name, email, username, password_hash, picture)"),
    });
  });

  it("item 7: delete-unless-shared passes: addresses are deleted though employees and shops reference them (NOT NULL), a real orphan still fails", async () => {
    const ok = await checkDataMap(trapsMap(db.url));
    expect(ok.filter((p) => p.rule === "orphaning-delete")).toEqual([]);
    // A kept table of the subject's own pointing at the deleted rows (NOT NULL) would really orphan them.
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(
        `CREATE TABLE invoices (id serial PRIMARY KEY, customer_id integer REFERENCES customers (id), billing_address_id integer NOT NULL REFERENCES addresses (id))`,
      );
      const problems = errors(
        await checkDataMap(
          trapsMap(db.url, (raw) => {
            raw.stores.shop.tables.invoices = { action: "keep", ground: "tax records" };
          }),
        ),
      );
      expect(rules(problems)).toEqual(["orphaning-delete stores.shop.tables.addresses.action"]);
    } finally {
      await c.query(`DROP TABLE invoices`);
      await c.end();
    }
  });
});
