/**
 * Types of archiver 8 (ESM-only, ships none): the subset Lethe uses. `finalize()` resolves when
 * the archive's last byte has been produced (not when a destination file is flushed).
 */
declare module "archiver" {
  import type { Readable, Transform } from "node:stream";
  import type { ZlibOptions } from "node:zlib";

  /** Data of one entry. */
  export interface EntryData {
    name: string;
    date?: Date | string;
    /** Unix permissions stored in the entry. */
    mode?: number;
    /** Store without compression. */
    store?: boolean;
  }

  /** Options of a zip archive. */
  export interface ZipOptions {
    zlib?: ZlibOptions;
    store?: boolean;
    comment?: string;
    forceZip64?: boolean;
    highWaterMark?: number;
  }

  /** The archiver core: a Transform whose output is the archive. */
  export class Archiver extends Transform {
    append(source: Readable | Buffer | string, data: EntryData): this;
    finalize(): Promise<void>;
    abort(): this;
    /** Bytes of archive produced so far. */
    pointer(): number;
  }

  /** A zip archive. */
  export class ZipArchive extends Archiver {
    constructor(options?: ZipOptions);
  }
}
