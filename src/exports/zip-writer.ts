import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ZipArchive, type EntryData } from "archiver";
import type { EntrySource, ExportEntryInput, ExportSink, ManifestEntry } from "../stores/export-sink";

/** Options of {@link ZipFileWriter}. */
export interface ZipWriterOptions {
  /** zlib level of the entries, 0–9. (Default: 6) */
  level?: number;
  /** Timestamp of every entry. (Default: now) */
  date?: Date;
}

/** The finished zip. */
export interface ZipResult {
  /** Size of the zip file. */
  bytes: number;
  /** SHA-256 of the zip file, hex. */
  sha256: string;
  entries: ManifestEntry[];
}

/** Highest chunk size a lazily produced entry is read with. */
const ENTRY_HIGH_WATER_MARK = 64 * 1024;

/** A Transform that counts and hashes what passes through. */
class Digest extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** True for a relative path without empty, `.` or `..` segments or backslashes. */
export function isSafeEntryPath(path: string): boolean {
  if (path.startsWith("/") || path.includes("\\")) return false;
  return path.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

function toReadable(source: EntrySource): Readable {
  if (source instanceof Readable) return source;
  if (typeof source === "string" || Buffer.isBuffer(source)) return Readable.from([Buffer.from(source)], { objectMode: false });
  return Readable.from(source, { objectMode: false, highWaterMark: ENTRY_HIGH_WATER_MARK });
}

/**
 * Streams a zip to `<file>.partial` (mode 0600) and renames it to `file` when complete, so a
 * reader never sees a half-written export. Entries go in one at a time; each is hashed as it
 * streams, so the manifest knows every entry's size and SHA-256 without reading it again.
 */
export class ZipFileWriter implements ExportSink {
  private readonly archive: ZipArchive;
  private readonly partial: string;
  private readonly fileDigest = new Digest();
  private readonly written: Promise<void>;
  private readonly entries: ManifestEntry[] = [];
  private readonly date: Date;
  private failure: Error | null = null;
  private onFailure: ((err: Error) => void) | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    options: ZipWriterOptions = {},
  ) {
    this.partial = `${file}.partial`;
    this.date = options.date ?? new Date();
    this.archive = new ZipArchive({ zlib: { level: options.level ?? 6 } });
    const out = createWriteStream(this.partial, { mode: 0o600, flags: "w", flush: true });
    const fail = (err: Error): void => {
      this.failure ??= err;
      this.onFailure?.(err);
    };
    this.archive.on("warning", (err: Error) => fail(err));
    this.archive.on("error", (err: Error) => fail(err));
    this.written = pipeline(this.archive, this.fileDigest, out);
    this.written.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
  }

  /** Adds one entry; resolves when it is fully compressed into the archive. Calls are serialized. */
  add(entry: ExportEntryInput): Promise<ManifestEntry> {
    const next = this.chain.then(() => this.addNow(entry));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private addNow(entry: ExportEntryInput): Promise<ManifestEntry> {
    if (!isSafeEntryPath(entry.path)) return Promise.reject(new Error(`unsafe entry path "${entry.path}"`));
    if (this.entries.some((e) => e.path === entry.path)) return Promise.reject(new Error(`duplicate entry path "${entry.path}"`));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<ManifestEntry>((resolve, reject) => {
      const digest = new Digest();
      const source = toReadable(entry.source);
      const done = (err: Error | null): void => {
        this.archive.off("entry", onEntry);
        this.onFailure = null;
        if (err) {
          source.destroy();
          this.archive.destroy(err);
          reject(err);
          return;
        }
        const m: ManifestEntry = {
          path: entry.path,
          ...(entry.store !== undefined ? { store: entry.store } : {}),
          ...(entry.table !== undefined ? { table: entry.table } : {}),
          contentType: entry.contentType,
          ...(entry.rows ? { rows: entry.rows() } : {}),
          bytes: digest.bytes,
          sha256: digest.hash.digest("hex"),
        };
        this.entries.push(m);
        resolve(m);
      };
      const onEntry = (data: EntryData): void => {
        if (data.name === entry.path) done(null);
      };
      this.onFailure = done;
      this.archive.on("entry", onEntry);
      // `pipe` does not forward errors: a failing source (a broken cursor) must abort the archive itself.
      source.once("error", (err: Error) => done(err));
      this.archive.append(source.pipe(digest), { name: entry.path, date: this.date, mode: 0o600 });
    });
  }

  /** The entries written so far, in order. */
  entriesSoFar(): ManifestEntry[] {
    return [...this.entries];
  }

  /** Finalizes the archive, flushes the file, renames it into place; returns its size and hash. */
  async finish(): Promise<ZipResult> {
    await this.chain;
    if (this.failure) throw this.failure;
    await this.archive.finalize();
    await this.written;
    if (this.failure) throw this.failure;
    await chmod(this.partial, 0o600);
    await rename(this.partial, this.file);
    const dir = await open(dirname(this.file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return { bytes: this.fileDigest.bytes, sha256: this.fileDigest.hash.digest("hex"), entries: [...this.entries] };
  }

  /** Stops writing and removes the partial file. */
  async abort(): Promise<void> {
    this.archive.destroy();
    await this.written.catch(() => undefined);
    await unlink(this.partial).catch(() => undefined);
  }
}
