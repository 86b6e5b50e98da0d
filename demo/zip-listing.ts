import { inflateRawSync } from "node:zlib";

/** One entry of a zip's central directory. */
export interface ZipListingEntry {
  name: string;
  /** Bytes stored (compressed). */
  compressed: number;
  /** Bytes once extracted. */
  size: number;
  /** Where its local header starts. */
  offset: number;
  /** 0 stored, 8 deflated. */
  method: number;
}

/**
 * Reads a zip's central directory (what `unzip -l` shows) from the file's bytes, so the demo
 * needs no unzip tool. Plain zip only (no ZIP64): enough for the demo's small exports.
 */
export function listZip(zip: Buffer): ZipListingEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip file (no end of central directory)");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipListingEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      name: zip.toString("utf8", at + 46, at + 46 + nameLength),
      method: zip.readUInt16LE(at + 10),
      compressed: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      offset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Extracts one entry listed by {@link listZip}. */
export function readZipEntry(zip: Buffer, entry: ZipListingEntry): Buffer {
  const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
  const data = zip.subarray(start, start + entry.compressed);
  return entry.method === 8 ? inflateRawSync(data) : Buffer.from(data);
}
