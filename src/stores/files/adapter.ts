import type { Dirent } from "node:fs";
import { lstat, readdir, realpath, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ERROR_CODES, PermanentError, VerificationFailure } from "../../errors";
import type { StepCount } from "../../types";
import { placeholdersOf } from "../placeholders";
import type { StoreAdapter, StoreDeps, StoreRunContext } from "../store-kind";
import { compilePath, fixedSegmentAt, isInside, isUnsafeIdentity, matchesPath, mayContainMatches, unsafePattern, type CompiledPath } from "./paths";
import type { FilesStoreSpec } from "./schema";

/** What one walk of one pattern does with the files it matches; `list` collects the regular files (exports). */
type Mode = "count" | "erase" | "list";

/** A regular file one of a store's patterns matched, as {@link listMatches} finds it. */
export interface MatchedFile {
  /** The pattern as written in the data map. */
  pattern: string;
  /** Absolute path below `realpath(root)`, reached through no symlink when the walk saw it. */
  path: string;
  /** Path segments relative to the root. */
  names: string[];
}

/**
 * The files store kind: files under one root matched by path patterns, deleted, then the
 * directories left empty (up to, not including, the root). One walk erases and verifies: every
 * path it unlinked is looked at again before the erasure is recorded. Symlinks are never followed: a
 * matching link is removed as a link, a linked directory is not entered, and every directory is
 * re-checked to be inside `realpath(root)` before it is read or changed.
 */
export function filesAdapter(store: string, deps: StoreDeps): StoreAdapter {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "files") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a files store of the data map`);
  spec.paths.forEach((pattern) => {
    const unsafe = unsafePattern(pattern);
    if (unsafe) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": path pattern "${pattern}" is unsafe (${unsafe})`);
  });

  const run = async (ctx: StoreRunContext, mode: Mode): Promise<{ steps: StepCount[]; remaining: string[] }> => {
    const compiled = compileAll(store, spec, ctx.snapshot.identities);
    const root = await realRoot(store, spec);
    const steps: StepCount[] = [];
    const remaining: string[] = [];
    for (const { pattern, path } of compiled) {
      if (!path) ctx.logger.debug({ store, pattern }, "pattern skipped: the subject has no value for its placeholder");
      const removed: string[] = [];
      const rows = path ? await walkPattern(root, path, mode, ctx.signal, [], removed) : 0;
      steps.push({ store, table: pattern, action: "delete", rows });
      // The walk is the verification: each path it unlinked is looked at again (lstat), no second walk.
      const back = (
        await Promise.all(
          removed.map((p) =>
            lstat(p).then(
              () => true,
              () => false,
            ),
          ),
        )
      ).filter(Boolean).length;
      if (back > 0) remaining.push(`files ${pattern}: ${back} file(s) written again`);
    }
    return { steps, remaining };
  };
  return {
    kind: "files",
    verifiesBeforeCommit: true,
    async preview(ctx) {
      return (await run(ctx, "count")).steps;
    },
    async erase(ctx, record) {
      const { steps, remaining } = await run(ctx, "erase");
      // The application wrote a file back while it was erased: not erased, try again.
      if (remaining.length > 0) throw new VerificationFailure(remaining.map((l) => `${store}: ${l}`));
      await record(steps);
      return { state: "done", steps };
    },
    async verify(ctx) {
      const { steps } = await run(ctx, "count");
      return steps.filter((s) => s.rows > 0).map((s) => `files ${s.table}: ${s.rows} file(s) remain`);
    },
  };
}

/**
 * The subject's regular files in a files store, found with exactly the walk an erasure uses
 * (same patterns, same refusal of unsafe identity values, same symlink rules). Symlinks and
 * other non-regular entries are not listed: an export never follows a link. Changes nothing.
 */
export async function listMatches(
  store: string,
  spec: FilesStoreSpec,
  identities: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<{ root: string; files: MatchedFile[] }> {
  const compiled = compileAll(store, spec, identities);
  const root = await realRoot(store, spec);
  const files: MatchedFile[] = [];
  for (const { pattern, path } of compiled) {
    if (!path) continue;
    const found: string[][] = [];
    await walkPattern(root, path, "list", signal, found);
    for (const names of found) files.push({ pattern, path: join(root, ...names), names });
  }
  return { root, files };
}

/**
 * Every pattern filled for the subject, or a permanent error before anything is touched when a
 * value it uses is unsafe in a path. The message names the identity, never its value.
 */
function compileAll(store: string, spec: FilesStoreSpec, identities: Readonly<Record<string, string>>): Array<{ pattern: string; path: CompiledPath | null }> {
  for (const pattern of spec.paths) {
    for (const name of placeholdersOf(pattern)) {
      const value = identities[name];
      if (value !== undefined && isUnsafeIdentity(value)) {
        throw new PermanentError(
          ERROR_CODES.unsafeIdentity,
          `store "${store}": the subject's ${name} cannot be used in a path (empty, ".", or containing "/", "\\", ".." or NUL); nothing was deleted or read`,
        );
      }
    }
  }
  return spec.paths.map((pattern) => ({ pattern, path: compilePath(pattern, identities) }));
}

/** `realpath(root)`, which must be a directory. A missing root fails the step (retryable: a mount may be late). */
async function realRoot(store: string, spec: FilesStoreSpec): Promise<string> {
  let root: string;
  try {
    root = await realpath(spec.root);
  } catch (err) {
    throw new Error(`store "${store}": the root directory cannot be resolved`, { cause: err });
  }
  if (!(await lstat(root)).isDirectory()) throw new Error(`store "${store}": the root is not a directory`);
  return root;
}

/**
 * Counts (or deletes) the files matching one pattern; after an erase, removes the directories it
 * left empty. `removed` collects the paths unlinked (for the erasure's own re-check).
 */
async function walkPattern(
  root: string,
  path: CompiledPath,
  mode: Mode,
  signal: AbortSignal | undefined,
  found: string[][] = [],
  removed: string[] = [],
): Promise<number> {
  const prefix = path.segments.slice(0, path.prefix).map((s) => (s.kind === "literal" ? s.name : ""));
  let dir = root;
  for (const name of prefix) {
    dir = join(dir, name);
    if (!isInside(root, dir)) return 0;
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory()) return 0; // missing, a file, or a symlink (never entered)
  }
  const emptied = new Set<string>();
  const rows = await visit(root, dir, prefix, path, mode, signal, emptied, false, found, removed);
  if (mode === "erase") await pruneEmpty(root, emptied);
  return rows;
}

/**
 * Walks one real directory inside the root; `names` is its path relative to the root. A directory
 * the pattern matches itself (`uploads/42` under `uploads/{id}/**` or `uploads/{id}`) is the
 * subject's: everything below it matches. Such directories, and those that lost an entry, are
 * collected in `emptied` as candidates for removal.
 */
async function visit(
  root: string,
  dir: string,
  names: string[],
  path: CompiledPath,
  mode: Mode,
  signal: AbortSignal | undefined,
  emptied: Set<string>,
  inClaimed = false,
  found: string[][] = [],
  removed: string[] = [],
): Promise<number> {
  signal?.throwIfAborted();
  await assertRealDirectory(root, dir);
  const claimed = inClaimed || (dir !== root && matchesPath(path, names));
  if (mode === "erase" && claimed) emptied.add(dir);
  let entries: Entry[];
  // Outside the subject's own directories and without `**` so far, only entries whose name
  // matches the pattern's segment at this depth can matter: a literal one is looked up directly,
  // a glob filters the names before anything else is done with them (`avatars/{id}.*` in a
  // directory of every user's avatar costs a regular-expression test per name, not a walk).
  const segment = claimed ? undefined : fixedSegmentAt(path, names.length);
  let listed = 0;
  try {
    if (segment?.kind === "literal") entries = await entriesNamed(dir, [segment.name]);
    else if (segment?.kind === "glob") {
      const all = await readdir(dir);
      listed = all.length;
      entries = await entriesNamed(
        dir,
        all.filter((name) => segment.re.test(name)),
      );
    } else {
      entries = await readdir(dir, { withFileTypes: true });
      listed = entries.length;
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return 0;
    throw err;
  }
  let rows = 0;
  let unlinkedHere = 0;
  for (const entry of entries) {
    const childNames = [...names, entry.name];
    const child = join(dir, entry.name);
    if (child === root || !isInside(root, child)) continue;
    if (entry.isDirectory()) {
      if (claimed || mayContainMatches(path, childNames) || matchesPath(path, childNames))
        rows += await visit(root, child, childNames, path, mode, signal, emptied, claimed, found, removed);
      continue;
    }
    // Files, symlinks (to anything) and other non-directories: a symlink is removed as a link.
    if (!claimed && !matchesPath(path, childNames)) continue;
    if (mode === "count") {
      rows++;
      continue;
    }
    if (mode === "list") {
      if (entry.isFile()) {
        found.push(childNames);
        rows++;
      }
      continue;
    }
    try {
      await unlink(child);
      removed.push(child);
      rows++;
      unlinkedHere++;
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOENT") throw err;
    }
  }
  // A directory that lost an entry may be empty now, unless it was listed whole and entries are
  // left (a literal lookup lists nothing: try it). Its emptied subdirectories are pruned first,
  // and their removal makes it a candidate again (`pruneEmpty`).
  if (unlinkedHere > 0 && (segment?.kind === "literal" || unlinkedHere >= listed)) emptied.add(dir);
  return rows;
}

/** What the walk needs of a directory entry. */
type Entry = Pick<Dirent, "name" | "isDirectory" | "isFile">;

/** The entries `names` of `dir` (lstat: a symlink is an entry of its own), skipping those that are gone. */
async function entriesNamed(dir: string, names: string[]): Promise<Entry[]> {
  const found = await Promise.all(
    names.map(async (name): Promise<Entry | null> => {
      try {
        const st = await lstat(join(dir, name));
        return { name, isDirectory: () => st.isDirectory(), isFile: () => st.isFile() };
      } catch (err) {
        if ((err as { code?: unknown }).code === "ENOENT" || (err as { code?: unknown }).code === "ENOTDIR") return null;
        throw err;
      }
    }),
  );
  return found.filter((e): e is Entry => e !== null);
}

/**
 * A directory about to be read or changed is inside the root and reached through no symlink: its
 * realpath is itself. Catches a directory swapped for a link while the walk runs.
 */
async function assertRealDirectory(root: string, dir: string): Promise<void> {
  const real = await realpath(dir).catch(() => dir);
  if (real !== dir || !isInside(root, dir))
    throw new PermanentError(
      ERROR_CODES.storeFailed,
      "a directory under the files root changed into a link during the walk; nothing outside the root was touched",
    );
}

/** Removes the candidate directories that are empty, deepest first, then their emptied parents, stopping below the root. */
async function pruneEmpty(root: string, candidates: Set<string>): Promise<void> {
  const queue = [...candidates].filter((d) => d !== root && isInside(root, d));
  const tried = new Set<string>();
  while (queue.length > 0) {
    queue.sort((a, b) => b.length - a.length);
    const dir = queue.shift()!;
    if (tried.has(dir)) continue;
    tried.add(dir);
    try {
      await assertRealDirectory(root, dir);
      await rmdir(dir);
    } catch {
      continue; // not empty (or already gone, or not ours): leave it
    }
    const parent = dirname(dir);
    if (parent !== root && isInside(root, parent)) queue.push(parent);
  }
}
