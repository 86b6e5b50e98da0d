import { parseScope, scopeSummary, MAX_SCOPE_LIST_VALUES } from "../../../src/breach/scope";
import { inputErrorFields, inputErrorMessage } from "./expect-input-error";

const rows = (over: Record<string, unknown> = {}) => ({ kind: "rows", store: "shop", table: "orders", ...over });

describe("parseScope accepts", () => {
  it.each([
    ["the whole table", rows({ allRows: true })],
    ["a time window", rows({ window: { column: "created_at", from: "2024-02-27T00:00:00Z", until: "2024-03-01T09:00:00Z" } })],
    ["a window open at one end", rows({ window: { column: "created_at", from: "2024-02-27T00:00:00+01:00" } })],
    ["each comparison", rows({ where: ["=", "<>", "<", "<=", ">", ">="].map((op, i) => ({ column: `c${i}`, op, value: i })) })],
    [
      "text and boolean values",
      rows({
        where: [
          { column: "status", op: "=", value: "shipped" },
          { column: "gift", op: "<>", value: true },
        ],
      }),
    ],
    ["in", rows({ where: [{ column: "region", op: "in", value: ["eu-west", "eu-central"] }] })],
    [
      "is null / is not null",
      rows({
        where: [
          { column: "deleted_at", op: "is null" },
          { column: "email", op: "is not null" },
        ],
      }),
    ],
    ["between numbers", rows({ where: [{ column: "total", op: "between", value: [10, 99.5] }] })],
    [
      "between instants in different offsets",
      rows({ where: [{ column: "paid_at", op: "between", value: ["2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z"] }] }),
    ],
    ["between text (ordered by the database)", rows({ where: [{ column: "code", op: "between", value: ["b", "a"] }] })],
    [
      "conditions and a window",
      rows({ where: [{ column: "status", op: "=", value: "paid" }], window: { column: "created_at", until: "2024-03-01T00:00:00Z" } }),
    ],
    ["a list of keys", { kind: "keys", store: "shop", table: "orders", values: [1, 2, 3] }],
    ["a list of text keys on a named column", { kind: "keys", store: "shop", table: "orders", column: "public_id", values: ["a1", "b2"] }],
    ["a list of identities", { kind: "identities", identity: "email", values: ["ann@example.com", " bob@example.com "] }],
  ])("%s", (_name, input) => {
    expect(() => parseScope(input)).not.toThrow();
  });

  it("defaults the conditions to none and trims identities", () => {
    expect(parseScope(rows({ allRows: true }))).toEqual({ kind: "rows", store: "shop", table: "orders", where: [], allRows: true });
    expect(parseScope({ kind: "identities", identity: "email", values: [" bob@example.com "] })).toEqual({
      kind: "identities",
      identity: "email",
      values: ["bob@example.com"],
    });
  });
});

describe("parseScope refuses, naming the field", () => {
  it.each([
    ["SQL in a table name", rows({ table: "orders; drop table x", allRows: true }), "table"],
    ["a schema-qualified or quoted table", rows({ table: '"orders"', allRows: true }), "table"],
    ["SQL in a column", rows({ where: [{ column: "id = 1 or 1", op: "=", value: 1 }] }), "where.0.column"],
    ["a bad store name", rows({ store: "shop/../x", allRows: true }), "store"],
    ["no narrowing and no allRows", rows(), "allRows"],
    ["allRows with a condition", rows({ allRows: true, where: [{ column: "id", op: "=", value: 1 }] }), "allRows"],
    ["allRows: false", rows({ allRows: false }), "allRows"],
    ["an unknown operator", rows({ where: [{ column: "name", op: "like", value: "%a%" }] }), "where.0.op"],
    ["raw SQL as an operator", rows({ where: [{ column: "id", op: "= 1 or 1 =", value: 1 }] }), "where.0.op"],
    ["a comparison without value", rows({ where: [{ column: "id", op: "=" }] }), "where.0.value"],
    ["a null value (use is null)", rows({ where: [{ column: "id", op: "=", value: null }] }), "where.0.value"],
    ["an object value", rows({ where: [{ column: "id", op: "=", value: { sql: "1" } }] }), "where.0.value"],
    ["an infinite number", rows({ where: [{ column: "id", op: ">", value: Number.POSITIVE_INFINITY }] }), "where.0.value"],
    ["is null with a value", rows({ where: [{ column: "id", op: "is null", value: 1 }] }), "where.0.value"],
    ["an empty in list", rows({ where: [{ column: "id", op: "in", value: [] }] }), "where.0.value"],
    ["a mixed in list", rows({ where: [{ column: "id", op: "in", value: [1, "2"] }] }), "where.0.value"],
    ["in with one value", rows({ where: [{ column: "id", op: "in", value: 1 }] }), "where.0.value"],
    ["between with one bound", rows({ where: [{ column: "id", op: "between", value: [1] }] }), "where.0.value"],
    ["between reversed numbers", rows({ where: [{ column: "id", op: "between", value: [9, 1] }] }), "where.0.value"],
    ["between reversed instants", rows({ where: [{ column: "t", op: "between", value: ["2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z"] }] }), "where.0.value"],
    ["between mixed types", rows({ where: [{ column: "id", op: "between", value: [1, "9"] }] }), "where.0.value"],
    ["a window without bounds", rows({ window: { column: "created_at" } }), "window.from"],
    [
      "a window ending before it starts",
      rows({ window: { column: "created_at", from: "2024-03-01T00:00:00Z", until: "2024-02-01T00:00:00Z" } }),
      "window.until",
    ],
    ["a window with a date that is not an instant", rows({ window: { column: "created_at", from: "last week" } }), "window.from"],
    ["an unknown field", rows({ allRows: true, sql: "select 1" }), "sql"],
    ["an unknown kind", { kind: "query", sql: "select * from orders" }, "kind"],
    ["an empty key list", { kind: "keys", store: "shop", table: "orders", values: [] }, "values"],
    ["a fractional key", { kind: "keys", store: "shop", table: "orders", values: [1.5] }, "values.0"],
    ["an empty identity", { kind: "identities", identity: "email", values: ["ann@example.com", "  "] }, "values.1"],
    ["an identity name that is not a name", { kind: "identities", identity: "e-mail", values: ["a@b.c"] }, "identity"],
  ])("%s", (_name, input, field) => {
    expect(inputErrorFields(() => parseScope(input))).toContain(field);
  });

  it("never echoes a value in its message", () => {
    const secret = "ann.secret@example.com";
    const msg = inputErrorMessage(() =>
      parseScope(
        rows({
          where: [
            { column: "email", op: "like", value: secret },
            { column: "x", op: "in", value: [secret, 1] },
          ],
        }),
      ),
    );
    expect(msg).toContain("invalid scope");
    expect(msg).not.toContain(secret);
  });

  it("bounds uploaded lists", () => {
    const tooMany = { kind: "keys", store: "shop", table: "orders", values: Array.from({ length: MAX_SCOPE_LIST_VALUES + 1 }, (_, i) => i) };
    expect(inputErrorFields(() => parseScope(tooMany))).toEqual(["values"]);
  });
});

describe("scopeSummary names things and counts, never values", () => {
  it.each([
    [rows({ allRows: true }), "rows of shop.orders: all"],
    [
      rows({
        where: [
          { column: "status", op: "=", value: "secret-status" },
          { column: "email", op: "in", value: ["a@x.example", "b@x.example"] },
          { column: "deleted_at", op: "is null" },
        ],
        window: { column: "created_at", from: "2024-02-27T00:00:00Z" },
      }),
      "rows of shop.orders where status = and email in (2 values) and deleted_at is null and created_at in a time window",
    ],
    [{ kind: "keys", store: "shop", table: "orders", values: [1, 2, 3] }, "3 keys of shop.orders"],
    [{ kind: "keys", store: "shop", table: "orders", column: "public_id", values: ["a"] }, "1 key of shop.orders (public_id)"],
    [{ kind: "identities", identity: "email", values: ["a@x.example", "b@x.example"] }, "2 email identities"],
    [{ kind: "identities", identity: "email", values: ["a@x.example"] }, "1 email identity"],
  ])("%j", (input, expected) => {
    expect(scopeSummary(parseScope(input))).toBe(expected);
  });
});
