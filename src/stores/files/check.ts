import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import type { DataMap } from "../../datamap/schema";
import { placeholderProblems } from "../store-check";
import type { StoreCheckProblem } from "../store-kind";
import { globNextToPlaceholder, unsafePattern } from "./paths";
import type { FilesStoreSpec } from "./schema";

/** The `lethe check` rules of files stores. */
export const FILES_CHECK_RULES = ["root-missing", "path-escapes-root", "pattern-without-placeholder", "unknown-placeholder", "pattern-too-broad"] as const;
/** One of {@link FILES_CHECK_RULES}. */
export type FilesCheckRule = (typeof FILES_CHECK_RULES)[number];

/**
 * Checks one files store: the root is an existing directory, and every pattern stays under it
 * and is confined to one subject.
 */
export async function checkFilesStore(map: DataMap, name: string, spec: FilesStoreSpec): Promise<Array<StoreCheckProblem<FilesCheckRule>>> {
  const problems = filesPatternProblems(map, name, spec);
  const missing = await rootProblem(spec.root);
  if (missing) problems.unshift({ key: `stores.${name}.root`, rule: "root-missing", message: missing });
  return problems;
}

/** The pattern rules of one files store, without I/O. */
export function filesPatternProblems(map: DataMap, name: string, spec: FilesStoreSpec): Array<StoreCheckProblem<FilesCheckRule>> {
  const problems: Array<StoreCheckProblem<FilesCheckRule>> = [];
  spec.paths.forEach((pattern, i) => {
    const key = `stores.${name}.paths.${i}`;
    const unsafe = unsafePattern(pattern);
    if (unsafe) problems.push({ key, rule: "path-escapes-root", message: `pattern "${pattern}" could reach outside the root: ${unsafe}` });
    problems.push(...placeholderProblems(key, pattern, map.subject.identities));
    const broad = globNextToPlaceholder(pattern);
    if (broad) problems.push({ key, rule: "pattern-too-broad", message: `pattern "${pattern}" is too broad: ${broad}` });
  });
  return problems;
}

async function rootProblem(root: string): Promise<string | null> {
  if (!isAbsolute(root)) return "the root must be an absolute path";
  try {
    // The root itself may be a symlink (a mount point); the walk below it never follows one.
    return (await stat(root)).isDirectory() ? null : "the root is not a directory";
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code === "ENOENT" ? "the root directory does not exist" : `the root cannot be read (${typeof code === "string" ? code : "error"})`;
  }
}
