import { constants } from "node:fs";
import { open, readlink, realpath, type FileHandle } from "node:fs/promises";
import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import { listMatches, type MatchedFile } from "./adapter";
import { isInside, unsafePattern } from "./paths";
import type { ExportSink } from "../export-sink";
import type { ExportStoreContext, StoreExporter } from "../store-kind";

/** How a matched file is opened: read-only, never through a symlink, never blocking on a FIFO swapped in. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a matched file for reading, or null when it is gone (or is no longer a regular file).
 * After opening, the descriptor's real path must still be inside the root: a parent directory
 * swapped for a link between the walk and the open fails the export instead of reading outside.
 */
export async function openInside(root: string, file: MatchedFile): Promise<FileHandle | null> {
  let handle: FileHandle;
  try {
    handle = await open(file.path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return null;
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      return null;
    }
    const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(file.path));
    if (real === `${file.path} (deleted)`) {
      await handle.close();
      return null;
    }
    if (real !== file.path || !isInside(root, real)) {
      throw new PermanentError(
        ERROR_CODES.storeFailed,
        "a directory under the files root changed into a link during the export; nothing outside the root was read",
      );
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The files store kind's export: every file the store's patterns match for the subject (found
 * by the erasure's own walk, `stores/files/adapter#listMatches`: unsafe identity values refused,
 * symlinks never followed, nothing outside `realpath(root)`) streamed byte for byte into
 * `files/<store>/<path relative to the root>`, each with its size and SHA-256 in the manifest.
 */
export function filesExporter(store: string, deps: { dataMap: DataMap }): StoreExporter {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "files") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a files store of the data map`);
  spec.paths.forEach((pattern) => {
    const unsafe = unsafePattern(pattern);
    if (unsafe) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}": path pattern "${pattern}" is unsafe (${unsafe})`);
  });
  return {
    kind: "files",
    async exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void> {
      const { root, files } = await listMatches(store, spec, ctx.snapshot.identities, ctx.signal);
      const done = new Set<string>();
      let skipped = 0;
      for (const file of files) {
        ctx.signal?.throwIfAborted();
        const rel = file.names.join("/");
        if (done.has(rel)) continue; // matched by two patterns
        done.add(rel);
        // A zip entry name cannot hold a backslash; fail visibly rather than leave the file out. The message names the pattern only.
        if (file.names.some((n) => n.includes("\\")))
          throw new PermanentError(
            ERROR_CODES.storeFailed,
            `store "${store}": a file matched by "${file.pattern}" has a backslash in its name, which a zip cannot hold`,
          );
        const handle = await openInside(root, file);
        if (!handle) {
          skipped++;
          continue;
        }
        const source = handle.createReadStream({ autoClose: true, highWaterMark: 64 * 1024 });
        try {
          await sink.add({ path: `files/${store}/${rel}`, store, contentType: "application/octet-stream", source, rows: () => 1 });
        } finally {
          source.destroy(); // closes the handle when the sink refused the entry before reading it
        }
      }
      ctx.logger.debug({ store, files: done.size - skipped, vanished: skipped }, "files store exported");
    },
  };
}
