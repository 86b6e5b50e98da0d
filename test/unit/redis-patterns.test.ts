import { broadness, escapeGlob, resolvePattern } from "../../src/stores/redis/patterns";

describe("redis store: patterns", () => {
  it("fills exact keys raw and glob patterns escaped", () => {
    expect(resolvePattern("s:{id}", { id: "a*" })).toEqual({ kind: "exact", key: "s:a*" });
    expect(resolvePattern("c:{id}:*", { id: "a*" })).toEqual({ kind: "match", match: "c:a\\*:*" });
    expect(resolvePattern("c:\\*:{id}", { id: "1" })).toEqual({ kind: "exact", key: "c:*:1" });
    expect(resolvePattern("c:{{id}}:*", { id: "1" })).toEqual({ kind: "match", match: "c:{1}:*" });
    expect(resolvePattern("u:{email}", { id: "1" })).toEqual({ kind: "skip", missing: "email" });
    expect(escapeGlob("a*?[]\\")).toBe("a\\*\\?\\[\\]\\\\");
  });

  it("finds patterns broader than one subject", () => {
    expect(broadness("*:{id}")).toMatch(/starts with a glob/);
    expect(broadness("[ab]:{id}")).toMatch(/starts with a glob/);
    expect(broadness("cart:{id}*")).toMatch(/right after \{id\}/);
    expect(broadness("cart:*{id}")).toMatch(/right before \{id\}/);
    expect(broadness("cart:{id}:*")).toBeNull();
    expect(broadness("cart:\\*{id}")).toBeNull();
    expect(broadness("{id}:*")).toBeNull();
  });
});
