import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCheck } from "../../src/cli/commands/check";
import { checkDataMap, type CheckProblem } from "../../src/datamap/check";
import { DataMapError, parseDataMap } from "../../src/datamap/load";
import { createScratchDb, runSql, type ScratchDb } from "../helpers/db";
import type { PolicyInput } from "./helpers";

let db: ScratchDb;
let tmp: string;

const SCHEMA = `
  CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, full_name text, nick text, status text, last_seen timestamptz);
  CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), placed_at date NOT NULL);
  CREATE TABLE sessions (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id) ON DELETE CASCADE, started_at timestamptz);
  CREATE TABLE visits (id int PRIMARY KEY, user_id int REFERENCES users(id) ON DELETE SET NULL, at timestamptz);
  CREATE TABLE comments (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), body text, written_at timestamptz);
  CREATE TABLE logs (user_id int REFERENCES users(id) ON DELETE CASCADE, at timestamptz, line text);
`;

/** A map of the schema that passes every rule, plus `policies`. */
function map(policies: PolicyInput[], edit: (tables: Record<string, Record<string, unknown>>) => void = () => undefined): unknown {
  const tables: Record<string, Record<string, unknown>> = {
    users: {
      action: "anonymize",
      fields: { email: { category: "contact", mask: "email" }, full_name: { category: "identity", mask: "token" }, nick: { personal: false } },
    },
    orders: { action: "keep", ground: "tax records" },
    sessions: { action: "delete" },
    visits: { action: "anonymize" },
    comments: { action: "delete", fields: { body: { category: "content", mask: "token" } } },
    logs: { action: "delete", fields: { line: { category: "content", mask: "token" } } },
  };
  edit(tables);
  return {
    version: 1,
    subject: { store: "app", table: "users", key: "id", identities: {} },
    stores: { app: { kind: "postgres", url: db.url, tables } },
    retention: policies.map((p) => ({ schedule: { cron: "0 3 * * *" }, purpose: "test", legalBasis: "Art. 6(1)(b)", ...p })),
  };
}

const policy = (name: string, table: string, column: string, action: "anonymize" | "delete", extra: Partial<PolicyInput> = {}): PolicyInput => ({
  name,
  store: "app",
  table,
  age: { column, olderThan: "P1Y" },
  action,
  ...extra,
});

async function problemsOf(raw: unknown): Promise<CheckProblem[]> {
  return (await checkDataMap(parseDataMap(raw))).filter((p) => p.key.startsWith("retention."));
}

beforeAll(async () => {
  db = await createScratchDb("lethe_rcheck");
  await runSql(db.url, SCHEMA);
  tmp = mkdtempSync(join(tmpdir(), "lethe-rcheck-"));
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await db?.drop();
});

describe("lethe check: retention policies", () => {
  it("accepts good policies: anonymize with masks, deletes covered by CASCADE, SET NULL or declared dependents", async () => {
    const problems = await checkDataMap(
      parseDataMap(
        map(
          [
            policy("dormant", "users", "last_seen", "anonymize", {
              where: [
                { column: "status", op: "in", value: ["closed", "banned"] },
                { column: "nick", op: "is not null" },
              ],
            }),
            policy("purge-users", "users", "last_seen", "delete"),
            policy("old-orders", "orders", "placed_at", "delete"),
          ],
          (t) => {
            t.orders = { action: "delete" };
          },
        ),
      ),
    );
    expect(problems).toEqual([]);
  });

  it("unknown column: the age column and a condition column, named by policy", async () => {
    expect(await problemsOf(map([policy("ghost-col", "users", "last_login", "anonymize", { where: [{ column: "nope", op: "=", value: "x" }] })]))).toEqual([
      { key: "retention.ghost-col.age.column", rule: "missing-column", message: 'column "users.last_login" does not exist' },
      { key: "retention.ghost-col.where.0.column", rule: "missing-column", message: 'column "users.nope" does not exist' },
    ]);
  });

  it("text column as age", async () => {
    expect(await problemsOf(map([policy("text-age", "users", "status", "anonymize")]))).toEqual([
      { key: "retention.text-age.age.column", rule: "retention-age-not-temporal", message: expect.stringContaining('"users.status" is text') },
    ]);
  });

  it("unsafe delete: a kept table references the rows through a NO ACTION foreign key", async () => {
    const problems = await problemsOf(map([policy("purge-users", "users", "last_seen", "delete")]));
    expect(problems).toEqual([
      {
        key: "retention.purge-users.action",
        rule: "retention-unsafe-delete",
        message: expect.stringContaining('"orders" (action "keep") references "users"'),
      },
    ]);
    expect(problems[0]!.message).toContain("orders_user_id_fkey");
  });

  it("unsafe delete: a dependent that is not declared at all", async () => {
    await runSql(db.url, `CREATE TABLE IF NOT EXISTS audit_trail (id int PRIMARY KEY, order_id int REFERENCES orders(id))`);
    try {
      const problems = await problemsOf(map([policy("old-orders", "orders", "placed_at", "delete")], (t) => (t.orders = { action: "delete" })));
      expect(problems).toEqual([
        {
          key: "retention.old-orders.action",
          rule: "retention-unsafe-delete",
          message: expect.stringContaining('"audit_trail" (not declared in the data map) references "orders"'),
        },
      ]);
    } finally {
      await runSql(db.url, `DROP TABLE audit_trail`);
    }
  });

  it("no primary key", async () => {
    expect(await problemsOf(map([policy("logs", "logs", "at", "delete")]))).toEqual([
      { key: "retention.logs.table", rule: "retention-no-primary-key", message: expect.stringContaining('table "logs" has no primary key') },
    ]);
  });

  it("anonymize without masks, or leaving a personal field unmasked", async () => {
    const problems = await problemsOf(
      map([policy("visits", "visits", "at", "anonymize"), policy("nicks", "users", "last_seen", "anonymize")], (t) => {
        t.users!.action = "delete";
        (t.users!.fields as Record<string, unknown>).nick = { category: "identity" };
      }),
    );
    expect(problems).toEqual([
      { key: "retention.visits.action", rule: "retention-nothing-to-mask", message: expect.stringContaining("declares none") },
      { key: "retention.nicks.action", rule: "retention-unmasked-field", message: expect.stringContaining('"users.nick"') },
    ]);
  });

  it("a table that is not declared in the data map", async () => {
    expect(await problemsOf(map([policy("undeclared", "accounts", "created_at", "delete")]))).toEqual([
      { key: "retention.undeclared.table", rule: "retention-undeclared-table", message: expect.stringContaining('"accounts" is not declared') },
    ]);
  });

  it("shape errors fail when the map is loaded: bad duration, cron, time zone, op, duplicate name, unknown store", () => {
    const raw = map([
      policy("a", "users", "last_seen", "anonymize", { age: { column: "last_seen", olderThan: "3 years" } }),
      { ...policy("b", "users", "last_seen", "anonymize"), schedule: { cron: "61 * * * *", tz: "UTC" } },
      { ...policy("c", "users", "last_seen", "anonymize"), schedule: { cron: "0 3 * * *", tz: "Mars/Olympus" } },
      policy("a", "users", "last_seen", "anonymize", { where: [{ column: "status", op: "like", value: "x" } as never] }),
      policy("d", "users", "last_seen", "anonymize", { store: "nope" }),
    ]);
    let err: unknown;
    try {
      parseDataMap(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataMapError);
    const problems = (err as DataMapError).problems.join("\n");
    expect(problems).toContain("retention.0.age.olderThan: must be an ISO 8601 duration");
    expect(problems).toContain("retention.1.schedule.cron: not a valid cron pattern");
    expect(problems).toContain('retention.2.schedule.tz: unknown time zone "Mars/Olympus"');
    expect(problems).toMatch(/retention\.3\.where\.0\.op: /);
  });

  it("duplicate names and unknown stores are refused when the map is loaded", () => {
    let err: unknown;
    try {
      parseDataMap(
        map([
          policy("a", "users", "last_seen", "anonymize"),
          policy("a", "users", "last_seen", "delete"),
          policy("d", "users", "last_seen", "anonymize", { store: "nope" }),
        ]),
      );
    } catch (e) {
      err = e;
    }
    expect((err as DataMapError).problems).toEqual([
      'retention.1.name: policy name "a" is used twice',
      'retention.2.store: store "nope" is not a postgres store declared in stores',
    ]);
  });

  it("`lethe check` prints every policy problem with the policy's key and the rule, and exits 1", async () => {
    const file = join(tmp, "map.json");
    writeFileSync(file, JSON.stringify(map([policy("text-age", "users", "status", "anonymize"), policy("logs", "logs", "at", "delete")])));
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) => ({ write: (s: string) => into.push(s) }) as unknown as NodeJS.WritableStream;
    expect(await runCheck(file, sink(out), sink(err))).toBe(1);
    const text = err.join("");
    expect(text).toContain(`${file}: retention.text-age.age.column: [retention-age-not-temporal]`);
    expect(text).toContain(`${file}: retention.logs.table: [retention-no-primary-key]`);
    expect(text).toContain("2 problems; the data map is not ready");
  });

  it("accepts the new age forms: last activity over a linked table, the greatest of several, absolute cutoffs, comparison operators", async () => {
    const problems = await problemsOf(
      map([
        policy("last-order", "users", "last_seen", "anonymize", { age: { max: "orders.placed_at", olderThan: "P3Y" } }),
        policy("activity", "users", "last_seen", "anonymize", {
          age: {
            greatest: [{ column: "last_seen" }, { max: "orders.placed_at" }, { min: "sessions.started_at" }],
            before: "2024-01-01T00:00:00Z",
            missing: "due",
          },
          where: [
            { column: "id", op: ">=", value: 10 },
            { column: "last_seen", op: "<", value: "2025-06-01" },
            { column: "status", op: "<>", value: "vip" },
          ],
        }),
      ]),
    );
    expect(problems).toEqual([]);
  });

  it("age and where problems name the policy's key and the rule", async () => {
    expect(
      await problemsOf(
        map([
          policy("no-link", "orders", "placed_at", "delete", { age: { max: "logs.at", olderThan: "P1Y" } }),
          policy("bad-agg", "users", "last_seen", "anonymize", {
            age: { greatest: [{ column: "last_seen" }, { max: "orders.ghost" }, { max: "comments.body" }], olderThan: "P1Y" },
          }),
          policy("bad-where", "users", "last_seen", "anonymize", {
            where: [
              { column: "id", op: ">", value: "ten" },
              { column: "last_seen", op: "<", value: "yesterday" },
            ],
          }),
        ]),
      ),
    ).toEqual([
      { key: "retention.no-link.age.max", rule: "retention-age-unlinked", message: expect.stringContaining('needs "logs" linked directly to "orders"') },
      { key: "retention.bad-agg.age.greatest.1.max", rule: "missing-column", message: 'column "orders.ghost" does not exist' },
      { key: "retention.bad-agg.age.greatest.2.max", rule: "retention-age-not-temporal", message: expect.stringContaining('"comments.body" is text') },
      { key: "retention.bad-where.where.0", rule: "retention-where-type", message: expect.stringContaining('"ten" is not a number') },
      { key: "retention.bad-where.where.1", rule: "retention-where-type", message: expect.stringContaining('"yesterday" is not an ISO 8601') },
    ]);
  });

  it("an anonymize that would leave a linked table's personal field unmasked is refused, unless linked tables are left with a reason", async () => {
    const unmasked = (t: Record<string, Record<string, unknown>>) => {
      t.logs = { action: "delete", fields: { line: { category: "content" } } };
    };
    expect(await problemsOf(map([policy("dormant", "users", "last_seen", "anonymize")], unmasked))).toEqual([
      {
        key: "retention.dormant.action",
        rule: "retention-linked-unmasked",
        message: expect.stringContaining('personal field "logs.line" has no mask'),
      },
    ]);
    expect(
      await problemsOf(
        map([policy("dormant", "users", "last_seen", "anonymize", { linked: "leave", reason: "logs are purged by their own policy" })], unmasked),
      ),
    ).toEqual([]);
  });

  it("shape errors of the new forms: two sources, two cutoffs, leave without a reason, leave on a delete", () => {
    let err: unknown;
    try {
      parseDataMap(
        map([
          policy("a", "users", "last_seen", "anonymize", { age: { column: "last_seen", max: "orders.placed_at", olderThan: "P1Y" } }),
          policy("b", "users", "last_seen", "anonymize", { age: { column: "last_seen", olderThan: "P1Y", before: "2024-01-01" } }),
          policy("c", "users", "last_seen", "anonymize", { linked: "leave" }),
          policy("d", "users", "last_seen", "delete", { linked: "leave", reason: "x" }),
          policy("e", "users", "last_seen", "anonymize", { age: { max: "placed_at", before: "last tuesday" } }),
        ]),
      );
    } catch (e) {
      err = e;
    }
    const problems = (err as DataMapError).problems.join("\n");
    expect(problems).toContain('retention.0.age.max: give exactly one age source: "column", "max", "min" or "greatest" (not column and max)');
    expect(problems).toContain("retention.1.age.before: give exactly one cutoff");
    expect(problems).toContain("retention.2.reason: say why the linked tables are left");
    expect(problems).toContain("retention.3.linked: a delete cannot leave linked rows");
    expect(problems).toContain("retention.4.age.max: must be <table>.<column>");
    expect(problems).toContain("retention.4.age.before: must be an ISO 8601 timestamp");
  });
});
