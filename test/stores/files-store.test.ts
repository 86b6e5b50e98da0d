import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { checkDataMap } from "../../src/datamap/check";
import type { DataMap } from "../../src/datamap/schema";
import { ERROR_CODES, PermanentError } from "../../src/errors";
import { filesAdapter } from "../../src/stores/files/adapter";
import { checkFilesStore } from "../../src/stores/files/check";
import type { FilesStoreSpec } from "../../src/stores/files/schema";
import type { StoreRunContext } from "../../src/stores/store-kind";
import { ctxFor, depsFor, mapWith, recorder, rowsByTable } from "./store-helpers";

let tmp: string;
let root: string;
let outside: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "lethe-files-"));
  root = join(tmp, "root");
  outside = join(tmp, "outside");
  mkdirSync(root);
  mkdirSync(outside);
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const PATTERNS = ["avatars/{id}.*", "uploads/{id}/**", "exports/{email}.zip"];

/** Writes files (and their directories) under `base`. */
function put(base: string, ...paths: string[]): void {
  for (const p of paths) {
    mkdirSync(dirname(join(base, p)), { recursive: true });
    writeFileSync(join(base, p), "data");
  }
}

/** Every entry under `base` (files, links and directories, a directory with a trailing /), sorted. */
function tree(base: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      out.push(relative(base, p) + (e.isDirectory() ? "/" : ""));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(base);
  return out.sort();
}

function uploadsMap(paths = PATTERNS): DataMap {
  return mapWith("uploads", { kind: "files", root: "${APP_UPLOADS}", paths }, { APP_UPLOADS: root });
}

const adapterFor = (map: DataMap) => filesAdapter("uploads", depsFor(map));
const subject = { id: "42", email: "a@example.com" };

const OTHERS = [
  "avatars/420.png",
  "avatars/7.png",
  "avatars/4.png",
  "uploads/7/x.txt",
  "uploads/420/y.txt",
  "uploads/4/z.txt",
  "exports/b@example.com.zip",
  "exports/a@example.com.zip.old",
];
const MINE = [
  "avatars/42.png",
  "avatars/42.jpg",
  "uploads/42/a.txt",
  "uploads/42/.hidden",
  "uploads/42/sub/b.txt",
  "uploads/42/sub/deeper/c.txt",
  "exports/a@example.com.zip",
];

describe("files store: erase", () => {
  it("deletes exactly the subject's files and the directories it emptied; counts; idempotent; verifies", async () => {
    put(root, ...MINE, ...OTHERS);
    mkdirSync(join(root, "uploads/42/empty"), { recursive: true });
    const before = tree(root);
    const adapter = adapterFor(uploadsMap());
    const ctx = ctxFor("uploads", subject);
    const expected = { "avatars/{id}.*": 2, "uploads/{id}/**": 4, "exports/{email}.zip": 1 };

    const preview = await adapter.preview(ctx);
    expect(rowsByTable(preview)).toEqual(expected);
    expect(preview.every((s) => s.store === "uploads" && s.action === "delete")).toBe(true);
    expect(tree(root)).toEqual(before);
    expect(await adapter.verify(ctx)).toEqual([
      "files avatars/{id}.*: 2 file(s) remain",
      "files uploads/{id}/**: 4 file(s) remain",
      "files exports/{email}.zip: 1 file(s) remain",
    ]);

    const { calls, record } = recorder();
    const outcome = await adapter.erase(ctx, record);
    expect(outcome.state).toBe("done");
    expect(rowsByTable(outcome.steps)).toEqual(expected);
    expect(calls).toEqual([outcome.steps]);
    expect(tree(root)).toEqual(["avatars/", "exports/", "uploads/", ...OTHERS, "uploads/7/", "uploads/420/", "uploads/4/"].sort());

    const again = await adapter.erase(ctx, recorder().record);
    expect(again.steps.map((s) => s.rows)).toEqual([0, 0, 0]);
    expect(await adapter.verify(ctx)).toEqual([]);
  });

  it("removes directories left empty up to, not including, the root", async () => {
    put(root, "avatars/42.png", "uploads/42/a/b/c.txt");
    await adapterFor(uploadsMap()).erase(ctxFor("uploads", subject), recorder().record);
    expect(tree(root)).toEqual([]);
    expect(lstatSync(root).isDirectory()).toBe(true);
  });

  it("looks names up by the pattern's segment: a literal name, a glob over a crowded directory, a glob directory level", async () => {
    const crowd = Array.from({ length: 300 }, (_, i) => `avatars/${i + 100}.png`);
    put(
      root,
      ...crowd,
      "avatars/42.png",
      "avatars/42.jpg",
      "avatars/420.png",
      "exports/42.zip",
      "exports/43.zip",
      "shots/a/42.png",
      "shots/b/42.png",
      "shots/b/7.png",
      "shots/42.png",
    );
    const map = uploadsMap(["avatars/{id}.*", "exports/{id}.zip", "shots/*/{id}.png"]);
    const done = await adapterFor(map).erase(ctxFor("uploads", subject), recorder().record);
    expect(rowsByTable(done.steps)).toEqual({ "avatars/{id}.*": 2, "exports/{id}.zip": 1, "shots/*/{id}.png": 2 });
    // shots/a emptied and removed; shots/b and avatars keep their other files; shots/42.png is at another depth.
    expect(tree(root)).toEqual(
      ["avatars/", ...crowd, "avatars/420.png", "exports/", "exports/43.zip", "shots/", "shots/42.png", "shots/b/", "shots/b/7.png"].sort(),
    );
    expect(await adapterFor(map).verify(ctxFor("uploads", subject))).toEqual([]);
  });

  it("deletes a whole directory the pattern names, and leaves a non-matching neighbour", async () => {
    put(root, "docs/42/a.pdf", "docs/42/x/b.pdf", "docs/42x/c.pdf");
    const done = await adapterFor(uploadsMap(["docs/{id}"])).erase(ctxFor("uploads", subject), recorder().record);
    expect(rowsByTable(done.steps)).toEqual({ "docs/{id}": 2 });
    expect(tree(root)).toEqual(["docs/", "docs/42x/", "docs/42x/c.pdf"]);
  });

  it("treats glob characters in identity values literally", async () => {
    put(root, "avatars/4*.png", "avatars/4?.png", "avatars/42.png", "avatars/4x.png", "uploads/4*/a.txt", "uploads/42/b.txt");
    const done = await adapterFor(uploadsMap()).erase(ctxFor("uploads", { id: "4*" }), recorder().record);
    expect(rowsByTable(done.steps)).toEqual({ "avatars/{id}.*": 1, "uploads/{id}/**": 1, "exports/{email}.zip": 0 });
    expect(tree(root)).toEqual(["avatars/", "avatars/42.png", "avatars/4?.png", "avatars/4x.png", "uploads/", "uploads/42/", "uploads/42/b.txt"]);
  });

  it("skips a pattern whose identity the snapshot lacks, with rows 0", async () => {
    put(root, "exports/a@example.com.zip", "exports/.zip", "avatars/42.png");
    const done = await adapterFor(uploadsMap()).erase(ctxFor("uploads", { id: "42" }), recorder().record);
    expect(rowsByTable(done.steps)).toEqual({ "avatars/{id}.*": 1, "uploads/{id}/**": 0, "exports/{email}.zip": 0 });
    expect(tree(root)).toEqual(["exports/", "exports/.zip", "exports/a@example.com.zip"]);
  });

  it.each([["../../etc/passwd"], ["a/b"], [".."], ["."], [""], ["a\\b"], ["x\0y"]])("refuses the identity value %j before touching anything", async (id) => {
    put(root, ...MINE, ...OTHERS, "uploads/a/b/secret.txt");
    put(outside, "etc/passwd");
    const before = [tree(root), tree(outside)];
    const adapter = adapterFor(uploadsMap());
    const ops: Array<(c: StoreRunContext) => Promise<unknown>> = [
      (c) => adapter.erase(c, recorder().record),
      (c) => adapter.preview(c),
      (c) => adapter.verify(c),
    ];
    for (const op of ops) {
      const err = await op(ctxFor("uploads", { id, email: "a@example.com" })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as PermanentError).code).toBe(ERROR_CODES.unsafeIdentity);
      expect((err as PermanentError).message).toContain("the subject's id cannot be used in a path");
      // Values of 1–2 characters ("", ".", "..") occur in the explanation itself.
      expect(id.length > 2 && (err as PermanentError).message.includes(id)).toBe(false);
    }
    expect([tree(root), tree(outside)]).toEqual(before);
  });

  it("refuses an unsafe email too, even when the id is fine, and deletes nothing", async () => {
    put(root, ...MINE);
    const before = tree(root);
    const err = await adapterFor(uploadsMap())
      .erase(ctxFor("uploads", { id: "42", email: "../../x" }), recorder().record)
      .catch((e: unknown) => e);
    expect((err as PermanentError).code).toBe(ERROR_CODES.unsafeIdentity);
    expect(tree(root)).toEqual(before);
  });

  it("never follows a symlink: links are removed as links, linked directories are not entered", async () => {
    put(outside, "secret.txt", "dir/inner.txt", "99/x.txt", "linked/42");
    put(root, "uploads/42/real.txt", "uploads/7/keep.txt");
    symlinkSync(join(outside, "secret.txt"), join(root, "uploads/42/link-to-file"));
    symlinkSync(join(outside, "dir"), join(root, "uploads/42/link-to-dir"));
    symlinkSync(join(outside, "99"), join(root, "uploads/99")); // the subject's own directory is a link
    symlinkSync(join(outside, "linked"), join(root, "avatars-link")); // a link where the walk starts
    const adapter = adapterFor(uploadsMap(["uploads/{id}/**", "avatars-link/{id}"]));

    const done = await adapter.erase(ctxFor("uploads", subject), recorder().record);
    expect(rowsByTable(done.steps)).toEqual({ "uploads/{id}/**": 3, "avatars-link/{id}": 0 });
    expect(tree(root)).toEqual(["avatars-link", "uploads/", "uploads/7/", "uploads/7/keep.txt", "uploads/99"]);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("data");
    expect(tree(outside)).toEqual(["99/", "99/x.txt", "dir/", "dir/inner.txt", "linked/", "linked/42", "secret.txt"]);

    const viaLink = await adapter.erase(ctxFor("uploads", { id: "99" }), recorder().record);
    expect(viaLink.steps.map((s) => s.rows)).toEqual([0, 0]);
    expect(existsSync(join(outside, "99/x.txt"))).toBe(true);
  });

  it("refuses an unsafe pattern when the adapter is built, whether or not check ran", () => {
    expect(() => adapterFor(uploadsMap(["../etc/{id}"]))).toThrow(PermanentError);
  });

  it("fails (retryably) when the root is gone", async () => {
    const map = uploadsMap();
    rmSync(root, { recursive: true });
    const err = await adapterFor(map)
      .erase(ctxFor("uploads", subject), recorder().record)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect((err as Error).message).not.toContain(root);
  });
});

describe("files store: data map and lethe check", () => {
  const specOf = (map: DataMap): FilesStoreSpec => {
    const s = map.stores.uploads;
    if (s?.kind !== "files") throw new Error("not a files store");
    return s;
  };

  it("interpolates ${VAR} in the root and passes a well-formed store", async () => {
    const map = uploadsMap();
    expect(specOf(map).root).toBe(root);
    expect(await checkFilesStore(map, "uploads", specOf(map))).toEqual([]);
  });

  it("reports path traversal, missing or unknown placeholders and globs touching a placeholder, each with its key", async () => {
    const map = uploadsMap([
      "../etc/*",
      "/etc/{id}",
      "a/../../{id}",
      "a\\{id}",
      "uploads/*",
      "x/{phone}",
      "ok/{id}/**",
      "avatars/{id}*",
      "u/?{id}/x",
      "ok/{id}.*",
    ]);
    const problems = await checkFilesStore(map, "uploads", specOf(map));
    expect(problems.map((p) => [p.key, p.rule])).toEqual([
      ["stores.uploads.paths.0", "path-escapes-root"],
      ["stores.uploads.paths.0", "pattern-without-placeholder"],
      ["stores.uploads.paths.1", "path-escapes-root"],
      ["stores.uploads.paths.2", "path-escapes-root"],
      ["stores.uploads.paths.3", "path-escapes-root"],
      ["stores.uploads.paths.4", "pattern-without-placeholder"],
      ["stores.uploads.paths.5", "unknown-placeholder"],
      ["stores.uploads.paths.7", "pattern-too-broad"],
      ["stores.uploads.paths.8", "pattern-too-broad"],
    ]);
  });

  it("reports a root that is missing or not a directory, through checkDataMap", async () => {
    const missing = mapWith("uploads", { kind: "files", root: join(tmp, "nope"), paths: ["a/{id}"] });
    const file = join(tmp, "file");
    writeFileSync(file, "x");
    const notDir = mapWith("uploads", { kind: "files", root: file, paths: ["a/{id}"] });
    for (const map of [missing, notDir]) {
      const problems = (await checkDataMap(map)).filter((p) => p.key.startsWith("stores.uploads"));
      expect(problems).toEqual([{ key: "stores.uploads.root", rule: "root-missing", message: expect.stringMatching(/does not exist|not a directory/) }]);
    }
  });
});
