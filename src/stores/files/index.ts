import type { StoreKind } from "../store-kind";
import { filesAdapter } from "./adapter";
import { checkFilesStore, FILES_CHECK_RULES, type FilesCheckRule } from "./check";
import { filesExporter } from "./exporter";
import { FILES_RIGHTS } from "./rights";
import { FILES_STORE_SCHEMA } from "./schema";

/**
 * The files store kind: a directory tree of the application's files, where the subject's files
 * are matched by path patterns with placeholders under one root that is never left. Erased by
 * deleting the files (never following a symlink); exported as `files/<store>/<path>`.
 */
export const filesKind: StoreKind<typeof FILES_STORE_SCHEMA, FilesCheckRule> = {
  kind: "files",
  schema: FILES_STORE_SCHEMA,
  sweeps: false,
  interpolate(spec, fill) {
    spec.root = fill("root", spec.root);
  },
  checkRules: FILES_CHECK_RULES,
  check: (map, name, spec) => checkFilesStore(map, name, spec),
  summary: () => "files",
  adapter: filesAdapter,
  exporter: filesExporter,
  rights: FILES_RIGHTS,
  describe(_store, spec, entries) {
    // Each file is listed below the table (not linked from the row); the row counts them.
    const stored = entries.filter((e) => e.table === undefined);
    return { rows: [{ label: "files", purpose: spec.purpose, categories: new Map(), rows: stored.length, files: [] }] };
  },
};
