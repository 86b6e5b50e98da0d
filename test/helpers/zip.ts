import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Entry names of a zip, via the `unzip` CLI (a reader independent of the writer). */
export async function zipEntries(file: string): Promise<string[]> {
  const { stdout } = await run("unzip", ["-Z1", file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split("\n").filter(Boolean);
}

/** One entry's content. */
export async function zipEntry(file: string, name: string): Promise<Buffer> {
  const { stdout } = await run("unzip", ["-p", file, name], { encoding: "buffer", maxBuffer: 1024 * 1024 * 1024 });
  return stdout;
}

/** `unzip -t`: tests every entry's CRC; resolves with the tool's output, rejects on a bad archive. */
export async function zipTest(file: string): Promise<string> {
  const { stdout } = await run("unzip", ["-t", file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Streams one entry through SHA-256 (no buffering of the whole entry): its size, hash and LF count. */
export async function zipEntryDigest(file: string, name: string): Promise<{ bytes: number; sha256: string; newlines: number }> {
  const { spawn } = await import("node:child_process");
  const { createHash } = await import("node:crypto");
  const child = spawn("unzip", ["-p", file, name], { stdio: ["ignore", "pipe", "inherit"] });
  const hash = createHash("sha256");
  let bytes = 0;
  let newlines = 0;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
  }
  const code = await new Promise<number | null>((res) => (child.exitCode !== null ? res(child.exitCode) : child.once("close", res)));
  if (code !== 0) throw new Error(`unzip -p exited with ${code}`);
  return { bytes, sha256: hash.digest("hex"), newlines };
}
