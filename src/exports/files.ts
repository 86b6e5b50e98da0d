import { mkdir, unlink } from "node:fs/promises";
import { basename, join } from "node:path";

/** File name of an export's zip, relative to LETHE_EXPORT_DIR. */
export function exportFileName(exportId: string): string {
  return `${exportId}.zip`;
}

/**
 * Absolute path of a recorded export file. Only the base name of the recorded path is used, so
 * a row can never point outside the export directory.
 */
export function exportFilePath(exportDir: string, recorded: string): string {
  return join(exportDir, basename(recorded));
}

/** Creates the export directory (mode 0700) if it is missing. */
export async function ensureExportDir(exportDir: string): Promise<void> {
  await mkdir(exportDir, { recursive: true, mode: 0o700 });
}

/** Deletes an export's zip and any partial file of it; a missing file is fine. */
export async function removeExportFiles(exportDir: string, recorded: string): Promise<void> {
  const file = exportFilePath(exportDir, recorded);
  for (const f of [file, `${file}.partial`]) {
    await unlink(f).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}
