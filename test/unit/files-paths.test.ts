import { compilePath, fixedSegmentAt, matchesPath, mayContainMatches } from "../../src/stores/files/paths";

describe("files store: path matching", () => {
  const compile = (t: string, id = "42") => compilePath(t, { id })!;

  it("matches * and ? within a segment and ** at any depth", () => {
    expect(matchesPath(compile("a/{id}.*"), ["a", "42.png"])).toBe(true);
    expect(matchesPath(compile("a/{id}.*"), ["a", "420.png"])).toBe(false);
    expect(matchesPath(compile("a/{id}.*"), ["a", "b", "42.png"])).toBe(false);
    expect(matchesPath(compile("a/{id}?.txt"), ["a", "42x.txt"])).toBe(true);
    expect(matchesPath(compile("a/**/{id}.txt"), ["a", "42.txt"])).toBe(true);
    expect(matchesPath(compile("a/**/{id}.txt"), ["a", "x", "y", "42.txt"])).toBe(true);
    expect(matchesPath(compile("a/{id}/**"), ["a", "42", "x", "y"])).toBe(true);
    expect(matchesPath(compile("a/{id}/**"), ["a", "43", "x"])).toBe(false);
    expect(matchesPath(compile("a/{id}.*", "4.2(x)"), ["a", "4.2(x).png"])).toBe(true);
    expect(matchesPath(compile("a/{id}.*", "4.2(x)"), ["a", "4x2(x).png"])).toBe(false);
  });

  it("walks only the literal prefix and descends only where a match is possible", () => {
    expect(compile("uploads/{id}/**").prefix).toBe(2);
    expect(compile("avatars/{id}.*").prefix).toBe(1);
    expect(compile("exports/{id}.zip").prefix).toBe(1);
    expect(mayContainMatches(compile("a/*/{id}.txt"), ["a", "x"])).toBe(true);
    expect(mayContainMatches(compile("a/*/{id}.txt"), ["b"])).toBe(false);
    expect(mayContainMatches(compile("a/{id}.txt"), ["a", "x"])).toBe(false);
  });

  it("names the segment every entry at a depth must match, until a ** comes", () => {
    expect(fixedSegmentAt(compile("avatars/{id}.*"), 1)).toMatchObject({ kind: "glob" });
    expect(fixedSegmentAt(compile("exports/{id}.zip"), 1)).toEqual({ kind: "literal", name: "42.zip" });
    expect(fixedSegmentAt(compile("a/*/{id}.txt"), 1)).toMatchObject({ kind: "glob" });
    expect(fixedSegmentAt(compile("a/**/{id}.txt"), 1)).toBeUndefined();
    expect(fixedSegmentAt(compile("a/**/{id}.txt"), 2)).toBeUndefined();
    expect(fixedSegmentAt(compile("a/{id}/**"), 2)).toBeUndefined();
    expect(fixedSegmentAt(compile("a/{id}.txt"), 2)).toBeUndefined();
  });
});
